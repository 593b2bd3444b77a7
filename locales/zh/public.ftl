# 手机上的公开结果、单位的历次结果（issue 17）。
results_period = 期次
results_history_intro = 本单位历次公布的评议结果：得分（0–100，已按样本量调整）、等级及在本行业的排名。
results_history_none = 尚无公布的结果。
results_rate_it = 评价本单位
