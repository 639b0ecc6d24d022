"""The models users fit: ordinary least squares (`lm`, `lm_list`) and linear mixed models
(`lmer`), each a pipeline from formula and data to an immutable result."""
