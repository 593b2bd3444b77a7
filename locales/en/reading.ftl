# Figures explained, names instead of codes (issue 17).
office_index = Index
office_score_note = The index is the plain mean of the unit's ratings, with its 95% interval. The score, which ranks and grades the unit, is the index pulled toward the mean of its category, the more so the fewer its responses: with a small sample the index is uncertain, so the score leans on the category until the unit has enough responses of its own.
office_dimension = Dimension
office_dimensions = Dimensions
office_dimensions_hint = Questionnaire items and model weights refer to a dimension by its code; pages show its name. Add or rename one with the form below (kind: dimension).
