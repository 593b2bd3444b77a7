# Messages the server composes: validation of office forms, rectification
# and appeal steps, sign-in. `{ $detail }` carries technical text (a parser's
# own message) that is not translated.

msg_bad_period = “{ $text }” is not a period (write YYYY, YYYY-Qn or YYYY-MM).
msg_nothing_to_publish = Period { $period } has no responses to publish.
msg_publish_invalid = The period cannot be computed: { $detail }
msg_reopen_reason = Reopening a period needs a reason.
msg_group_fields = Give a code of 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit, and a Chinese name.
msg_group_kind = The kind is district or category.
msg_model_invalid = The model is invalid: { $detail }
msg_no_category = There is no category “{ $code }”.
msg_no_institution = There is no institution “{ $code }”.
msg_items_invalid = The items are invalid: { $detail }
msg_dimension_unweighted = Dimension “{ $dimension }” has no weight in the model; add it to the model first.
msg_role = The role is administrator, analyst or institution.
msg_user_name = A user name is 1 to 64 letters, digits or . _ - @.
msg_user_password = A password has at least { $min } characters.
msg_user_needs_institution = An institution user needs an institution.
msg_user_not_institution = Only institution users belong to an institution.
msg_user_taken = The user name “{ $name }” is taken.
msg_token_days = The validity is a whole number of days from 1 to 3650.
msg_token_name = Give the token a name.
msg_text_too_long = At most { $max } characters.
msg_text_empty = The text is empty.
msg_task_wrong_status = The task is “{ $status }”, not “{ $expected }”; reload the page to see its current state.
msg_appeal_kind = An appeal is for a mistaken or a malicious rating.
msg_appeal_reason = Give a reason of 1 to { $max } characters.
msg_appeal_voided = The rating is already voided.
msg_appeal_no_comment = Only a rating with a comment can be appealed.
msg_appeal_not_poor = Only a poor rating (1 or 2 on some item) can be appealed.
msg_appeal_twice = This rating has already been appealed.
msg_appeal_decided = The appeal is already “{ $status }”.
msg_appeal_decision = The decision is uphold or reject.
msg_login_invalid = The user name or password is wrong, or the account is locked for a while after too many failed sign-ins.
msg_login_too_many = Too many sign-in attempts from your address. Wait a while before trying again.
msg_import_interrupted = The upload was interrupted; please send the file again.
msg_import_too_large = The list is larger than { $max } MiB.
msg_import_encoding = The file is neither UTF-8 nor GBK text; save it as CSV (UTF-8) and try again.
msg_import_invalid = The list was not imported: { $detail }
msg_institution_invalid = The institution was not saved: { $detail }
msg_model_field = “{ $value }” is not a number (field { $field }).
