# Office pages: sign-in, dashboard, periods, institutions, model, questionnaires,
# rectification, appeals, accounts, API tokens and the audit log.
# Every id starts with office_ so it never clashes with the citizen catalogue.

# Office chrome: title, header, navigation
office_site = 评议
office_name = 考评办
office_brand = 评议 · 考评办
office_sign_out = 退出登录
office_role_admin = 管理员
office_role_analyst = 分析员
office_role_institution = 单位用户
office_dashboard = 看板
office_periods = 期次
office_institutions = 单位
office_model = 模型
office_questionnaires = 问卷
office_rectification = 整改
office_appeals = 申诉
office_users = 账号
office_api_tokens = API 令牌
office_audit_log = 审计日志
office_back_to_office = 返回考评办首页

# Sign-in
office_sign_in = 登录
office_username = 用户名
office_password = 密码

# Words shared by several pages (table headers, labels, badges)
office_period = 期次
office_institution = 单位
office_sector = 行业
office_district = 区
office_code = 编号
office_name_field = 名称
office_score = 得分
office_ci = 指数的 95% 置信区间
office_grade = 等级
office_rank = 名次
office_sample = 样本量
office_change = 环比
office_yes = 是
office_none = 无。
office_low_sample = 样本少
office_status = 状态
office_reasons = 原因
office_due = 期限
office_followup = 复评
office_comment = 意见
office_frozen = 已冻结
office_open = 收集中
office_overdue = 逾期
office_voided = 已作废
office_still_flagged = 仍需整改
office_improved = 已改善
office_change_note = 修改说明
office_save = 保存

# Status values and codes stored in the database
office_status_open = 待提交方案
office_status_plan_submitted = 方案已提交
office_status_plan_accepted = 方案已通过
office_status_report_submitted = 报告已提交
office_status_completed = 已完成
office_status_withdrawn = 已撤销
office_appeal_status_pending = 待处理
office_appeal_status_upheld = 申诉成立
office_appeal_status_rejected = 已驳回
office_appeal_kind_mistaken = 误评
office_appeal_kind_malicious = 恶意评价
office_source_citizen = 群众评价
office_source_assessor = 第三方评估
office_scope_read = 只读

# Dashboard
office_show = 查看
office_dashboard_published = 已公布：运行编号
office_dashboard_published_detail = ，模型 v{ $version }，由 { $by } 于 { $at } 发布。
office_dashboard_preview = 预览
office_dashboard_preview_text = ：尚未公布，以下数据按当前模型计算。
office_dashboard_preview_at = 计算于 { $at }；数据变化后重新计算。
office_dashboard_no_data = 本期尚无评价数据。
office_dashboard_collected = 有效收集：
office_data_quality = 数据质量
office_responses = 回收
office_incomplete = 不完整
office_speeders = 作答过快
office_valid = 有效
office_straightliners = 直线作答
office_total = 合计
office_ranking = 排名

# One institution
office_scores_by_period = 各期得分
office_nothing_published = 尚无已公布的数据。
office_rectification_history = 整改记录
office_latest_comments = 最新意见
office_when = 时间
office_source = 来源
office_ratings = 评分
office_appeal = 申诉
office_appeal_kind = 申诉类型
office_appeal_reason = 申诉理由
office_appeal_submit = 提出申诉

# Institutions, districts and sectors
office_qr_code = 二维码
office_institution_edit = 新增或修改单位
office_name_zh = 中文名称
office_name_en = 英文名称
office_address = 地址
office_import_csv = 导入 CSV
office_import_csv_intro = 全部行校验通过才会保存，否则一行也不保存。表头：
office_csv_data = CSV 数据
office_import = 导入
office_catalog = 区与行业
office_catalog_kind = 类别

# Indicator model
office_indicator_model = 指标模型
office_model_intro = 维度权重（按行业）、来源权重、整改阈值与等级划分。每次修改生成新版本，已公布的快照记录其所用版本。
office_dimension_weights = 维度权重
office_model_source_weights = 来源权重：群众评价 { $citizen }，第三方评估 { $assessor }
office_model_rectify_below = 整改阈值：得分低于 { $score }（或任一维度低于 { $dimension }）
office_model_grades = 等级：
office_model_toml = 模型配置（model.toml）
office_save_new_version = 保存为新版本
office_versions = 版本记录

# Periods
office_periods_intro = 发布即冻结：本期不再接收评价和上传。重新发布会生成新的快照，旧快照仍予保留。
office_public_results = 公开结果
office_model_version = 模型 v{ $version }
office_n_responses = { $n } 份评价
office_input_hash = 输入哈希
office_publish = 发布
office_republish = 重新发布
office_reopen_reason = 重新开放原因
office_reopen = 重新开放

# Questionnaires
office_questionnaires_intro = 问卷按版本管理，使用中的问卷不作原地修改：保存即生成新版本，已收集的评价仍对应其原版本。
office_in_use = 使用中
office_required = 必答
office_questionnaire_items = 题目，每行一题：code,dimension,required (yes/no),text_zh,text_en
office_save_as_version = 保存为第 { $version } 版

# Rectification tasks
office_rectification_tasks = 整改任务
office_overdue_tasks = 逾期任务：
office_reason_score_below = 得分低于 { $threshold }
office_no_tasks = 暂无整改任务。
office_task = 整改任务
office_task_status = 状态：
office_task_due = 整改期限：{ $date }
office_task_score_below = 得分 { $score }，低于 { $threshold }
office_task_dimension_below = 维度 { $code }：{ $index }，低于 { $threshold }
office_plan = 整改方案
office_report = 完成报告
office_review = 审核意见
office_score_change = 得分变化：
office_no_longer_flagged = 已不在整改名单
office_no_data = 本期无数据
office_submit_plan = 提交方案
office_submit_report = 提交报告
office_review_note = 审核意见
office_accept_plan = 通过方案
office_return_plan = 退回方案
office_accept_report = 通过报告
office_return_report = 退回报告

# Appeals
office_appeals_intro = 申诉成立的，该条评价作废（保留并标记，不计入下次计算）。
office_kind = 类型
office_reason = 理由
office_decision_note = 处理意见
office_uphold = 认定成立
office_reject = 驳回
office_no_appeals = 暂无申诉。

# API tokens
office_tokens_intro = 只读令牌，供主评分模型拉取分数。请求时携带：
office_token_issued = 新令牌（仅显示一次）：
office_prefix = 前缀
office_scope = 权限范围
office_created = 创建时间
office_expires = 到期时间
office_actions = 操作
office_revoked = 已吊销
office_revoke = 吊销
office_issue_token = 签发令牌
office_token_days = 有效天数（留空表示长期有效）
office_issue = 签发

# Office accounts
office_role = 角色
office_role_analyst_read_only = 分析员（只读）
office_locked_until = 锁定至
office_unlock = 解锁
office_add_user = 新增账号
office_initial_password = 初始密码（至少 10 个字符）
office_user_institution = 单位编号（仅单位用户填写）
office_add = 新增

# Audit log
office_who = 操作人
office_action = 操作
office_target = 对象
office_detail = 详情

# Chart titles (drawn in Rust).
office_chart_scores = 得分分布
office_chart_sector_means = 行业平均得分
office_chart_district_means = 各区平均得分
office_chart_by_sector = 各行业收集进度
office_chart_by_district = 各区收集进度
office_chart_per_day = 每日收集量
office_chart_trend = 满意度指数及其 95% 置信区间，以及得分
office_chart_profile = 维度得分（最近一期）
office_csv_file = CSV 文件
office_csv_file_hint = UTF-8 或 GBK 编码（Excel 另存为 CSV 即可），也可以在下方直接粘贴。

# 模型编辑。
office_model_edit = 修改模型
office_model_thresholds = 阈值
office_field_rectify_below = 得分低于此值须整改
office_field_rectify_dimension_below = 维度指数低于此值须整改
office_field_min_sample = 完整结果所需的最小样本量
office_field_prior_strength = 收缩强度 k（0 为不收缩）
office_field_min_completion = 每份问卷至少作答的题目比例（0–1）
office_field_speeder = 过快作答：每题少于此毫秒数
office_field_points_max = 在综合考评中的分值
office_model_source_weights_title = 来源权重
office_field_source_citizen = 公众评价
office_field_source_assessor = 第三方调查
office_model_grades_title = 等级划分
office_model_grades_hint = 按此顺序，得分达到的第一个等级下限即为其等级。整行留空即删除该等级。
office_field_grade = 等级
office_field_grade_min = 最低得分
office_model_weights_hint = 每个行业一行。留空的单元格使用默认行的权重；权重为相对值，每个须大于 0。
office_model_advanced = 高级：以 TOML 编辑模型
