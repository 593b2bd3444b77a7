# Public results on a phone, an institution's public history (issue 17).
results_period = Period
results_history_intro = Published results of this service unit in each period: the score (0–100, adjusted for sample size), the grade and the rank in its sector.
results_history_none = No published results yet.
results_rate_it = Rate this unit
