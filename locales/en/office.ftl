# Office pages: sign-in, dashboard, periods, institutions, model, questionnaires,
# rectification, appeals, accounts, API tokens and the audit log.
# Every id starts with office_ so it never clashes with the citizen catalogue.

# Office chrome: title, header, navigation
office_site = Pingyi
office_name = Office
office_brand = Pingyi · Office
office_sign_out = Sign out
office_role_admin = Administrator
office_role_analyst = Analyst
office_role_institution = Institution user
office_dashboard = Dashboard
office_periods = Periods
office_institutions = Institutions
office_model = Model
office_questionnaires = Questionnaires
office_rectification = Rectification
office_appeals = Appeals
office_users = Users
office_api_tokens = API tokens
office_audit_log = Audit log
office_back_to_office = Back to the office

# Sign-in
office_sign_in = Sign in
office_username = User name
office_password = Password

# Words shared by several pages (table headers, labels, badges)
office_period = Period
office_institution = Institution
office_sector = Sector
office_district = District
office_code = Code
office_name_field = Name
office_score = Score
office_ci = 95% interval of the index
office_grade = Grade
office_rank = Rank
office_sample = n
office_change = Change
office_yes = Yes
office_none = None.
office_low_sample = small sample
office_status = Status
office_reasons = Reasons
office_due = Due
office_followup = Follow-up
office_comment = Comment
office_frozen = Frozen
office_open = Open
office_overdue = Overdue
office_voided = Voided
office_still_flagged = still flagged
office_improved = improved
office_change_note = What changed
office_save = Save

# Status values and codes stored in the database
office_status_open = Awaiting plan
office_status_plan_submitted = Plan submitted
office_status_plan_accepted = Plan accepted
office_status_report_submitted = Report submitted
office_status_completed = Completed
office_status_withdrawn = Withdrawn
office_appeal_status_pending = Pending
office_appeal_status_upheld = Upheld
office_appeal_status_rejected = Rejected
office_appeal_kind_mistaken = Mistaken rating
office_appeal_kind_malicious = Malicious rating
office_source_citizen = Citizen
office_source_assessor = Assessor
office_scope_read = Read only

# Dashboard
office_show = Show
office_dashboard_published = Published: run
office_dashboard_published_detail = , model v{ $version }, { $at } by { $by }.
office_dashboard_preview = Preview
office_dashboard_preview_text = : not published yet; the figures are computed with the current model.
office_dashboard_preview_at = Computed at { $at }; computed again when the data change.
office_dashboard_no_data = No responses in this period yet.
office_dashboard_collected = Responses collected:
office_data_quality = Data quality
office_responses = Responses
office_incomplete = Incomplete
office_speeders = Speeders
office_valid = Valid
office_straightliners = Straight-liners
office_total = Total
office_ranking = Ranking

# One institution
office_scores_by_period = Scores by period
office_nothing_published = Nothing published yet.
office_rectification_history = Rectification history
office_latest_comments = Latest comments
office_when = When
office_source = Source
office_ratings = Ratings
office_appeal = Appeal
office_appeal_kind = Kind of appeal
office_appeal_reason = Reason for the appeal
office_appeal_submit = Appeal

# Institutions, districts and sectors
office_qr_code = QR code
office_institution_edit = Add or change an institution
office_name_zh = Name in Chinese
office_name_en = Name in English
office_address = Address
office_import_csv = Import CSV
office_import_csv_intro = Nothing is stored unless every row is valid. Header line:
office_csv_data = CSV data
office_import = Import
office_catalog = Districts and sectors
office_catalog_kind = Type

# Indicator model
office_indicator_model = Indicator model
office_model_intro = Dimension weights per sector, source weights, thresholds and grade bands. Each change makes a new version; every published snapshot records the version it used.
office_dimension_weights = Dimension weights
office_model_source_weights = Source weights: citizens { $citizen }, assessors { $assessor }
office_model_rectify_below = Rectification threshold: score below { $score } (or any dimension below { $dimension })
office_model_grades = Grades:
office_model_toml = Model settings (model.toml)
office_save_new_version = Save as a new version
office_versions = Versions

# Periods
office_periods_intro = Publishing freezes a period: no more ratings or uploads are accepted for it. Republishing makes a new snapshot and keeps the old ones.
office_public_results = Public results
office_model_version = model v{ $version }
office_n_responses = { $n ->
    [one] { $n } response
   *[other] { $n } responses
}
office_input_hash = input hash
office_publish = Publish
office_republish = Republish
office_reopen_reason = Reason to reopen
office_reopen = Reopen

# Questionnaires
office_questionnaires_intro = Questionnaires are versioned and never changed in place: saving makes a new version, and stored responses keep the version they answered.
office_in_use = in use
office_required = required
office_questionnaire_items = Items, one per line: code,dimension,required (yes/no),text_zh,text_en
office_save_as_version = Save as version { $version }

# Rectification tasks
office_rectification_tasks = Rectification tasks
office_overdue_tasks = Overdue tasks:
office_reason_score_below = Score below { $threshold }
office_no_tasks = No tasks.
office_task = Rectification task
office_task_status = Status:
office_task_due = Due { $date }
office_task_score_below = Score { $score }, below { $threshold }
office_task_dimension_below = Dimension { $code }: { $index } < { $threshold }
office_plan = Rectification plan
office_report = Completion report
office_review = Review
office_score_change = Change in score:
office_no_longer_flagged = no longer flagged
office_no_data = no data for this period
office_submit_plan = Submit plan
office_submit_report = Submit report
office_review_note = Review note
office_accept_plan = Accept plan
office_return_plan = Return plan
office_accept_report = Accept report
office_return_report = Return report

# Appeals
office_appeals_intro = An upheld appeal voids the rating: it is kept and marked, and left out of the next computation.
office_kind = Kind
office_reason = Reason
office_decision_note = Note
office_uphold = Uphold
office_reject = Reject
office_no_appeals = No appeals.

# API tokens
office_tokens_intro = Read-only tokens with which the main scoring model fetches scores; send one as:
office_token_issued = New token (shown only once):
office_prefix = Prefix
office_scope = Scope
office_created = Created
office_expires = Expires
office_actions = Actions
office_revoked = Revoked
office_revoke = Revoke
office_issue_token = Issue a token
office_token_days = Valid for (days; leave empty for no expiry)
office_issue = Issue

# Office accounts
office_role = Role
office_role_analyst_read_only = Analyst (read only)
office_locked_until = Locked until
office_unlock = Unlock
office_add_user = Add a user
office_initial_password = Initial password (at least 10 characters)
office_user_institution = Institution code (institution users only)
office_add = Add

# Audit log
office_who = Who
office_action = Action
office_target = Target
office_detail = Detail

# Chart titles (drawn in Rust).
office_chart_scores = Distribution of scores
office_chart_sector_means = Mean score by sector
office_chart_district_means = Mean score by district
office_chart_by_sector = Responses by sector
office_chart_by_district = Responses by district
office_chart_per_day = Responses per day
office_chart_trend = Index with its 95% interval, and the score
office_chart_profile = Dimension profile (latest period)
office_csv_file = CSV file
office_csv_file_hint = UTF-8 or GBK, as Excel saves it. Or paste the rows below instead.

# The model editor.
office_model_edit = Edit the model
office_model_thresholds = Thresholds
office_field_rectify_below = Rectification below this score
office_field_rectify_dimension_below = Rectification below this dimension index
office_field_min_sample = Smallest sample for a full result
office_field_prior_strength = Shrinkage strength k (0 turns it off)
office_field_min_completion = Share of items a response must answer (0–1)
office_field_speeder = Speeder: under this many ms per answered item
office_field_points_max = Points in the main scoring model
office_model_source_weights_title = Source weights
office_field_source_citizen = Citizen ratings
office_field_source_assessor = Third-party surveys
office_model_grades_title = Grade bands
office_model_grades_hint = A score gets the first band whose minimum it reaches, in this order. Leave a row blank to drop it.
office_field_grade = Grade
office_field_grade_min = Minimum score
office_model_weights_hint = One row per sector. A blank cell takes the default row's weight; weights are relative and each must be above 0.
office_model_advanced = Advanced: edit the model as TOML
