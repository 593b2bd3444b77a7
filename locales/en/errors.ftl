# Error pages of every part of the service (citizen, office, assessor).

error_not_found = Not found
error_not_found_text = The page or service unit you are looking for does not exist.
error_too_many = Too many requests
error_too_many_text = Please wait a moment and try again.
error_bad_form = The form has expired
error_bad_form_text = Please go back, reload the page and fill it in again. Cookies must be enabled.
error_period_closed = This period is closed
error_period_closed_text = This period's results have been published; new ratings are not accepted now.
error_unavailable = Temporarily unavailable
error_unavailable_text = Your rating was not saved; please submit it again in a moment.
error_internal = Something went wrong
error_internal_text = An unexpected error occurred; please try again later.
error_forbidden = Forbidden
error_forbidden_text = Your account may not see or do this.
error_not_accepted = Not accepted
error_nothing_changed = Nothing was changed.
error_conflict = Conflict
error_back_home = Back to the start page
error_back_office = Back to the office
