# 各部分（公众、考评办、测评机构）的错误页面。

error_not_found = 页面不存在
error_not_found_text = 您要找的页面或服务单位不存在。
error_too_many = 请求过于频繁
error_too_many_text = 请稍后再试。
error_bad_form = 表单已过期
error_bad_form_text = 请返回并刷新页面后重新填写。请确认浏览器允许使用 Cookie。
error_period_closed = 本期测评已结束
error_period_closed_text = 本期结果已经公布，暂不接受新的评价。
error_unavailable = 服务暂时不可用
error_unavailable_text = 您的评价没有保存，请稍后重新提交。
error_internal = 系统错误
error_internal_text = 出现了意外错误，请稍后再试。
error_forbidden = 无权访问
error_forbidden_text = 您的账号无权查看或执行此操作。
error_not_accepted = 无法处理
error_nothing_changed = 未做任何更改。
error_conflict = 冲突
error_back_home = 返回首页
error_back_office = 返回考评办首页
