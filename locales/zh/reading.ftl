# 指标说明、以名称代替代码（issue 17）。
office_index = 满意度指数
office_score_note = 满意度指数是该单位评价的简单平均，并给出其 95% 置信区间。用于排名和定级的得分，是把指数向同行业平均值收拢后的结果，评价越少收拢越多：样本小时指数不够确定，得分便更多参照同行业水平，直到该单位有足够的评价。
office_dimension = 维度
office_dimensions = 评价维度
office_dimensions_hint = 问卷题目和权重按代码引用维度，页面显示其名称。可用下方表单新增或改名（类别选“维度”）。
