//! The demo data set seeded into an empty database: 16 districts, 8
//! categories, 60 institutions, the five named dimensions and one
//! questionnaire per category.

use anyhow::Context;
use chrono::Utc;
use entity::{category, dimension, district, institution, questionnaire, questionnaire_item};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};

const DISTRICTS: &[(&str, &str, &str)] = &[
    ("dongcheng", "东城区", "Dongcheng"),
    ("xicheng", "西城区", "Xicheng"),
    ("chaoyang", "朝阳区", "Chaoyang"),
    ("fengtai", "丰台区", "Fengtai"),
    ("shijingshan", "石景山区", "Shijingshan"),
    ("haidian", "海淀区", "Haidian"),
    ("mentougou", "门头沟区", "Mentougou"),
    ("fangshan", "房山区", "Fangshan"),
    ("tongzhou", "通州区", "Tongzhou"),
    ("shunyi", "顺义区", "Shunyi"),
    ("changping", "昌平区", "Changping"),
    ("daxing", "大兴区", "Daxing"),
    ("huairou", "怀柔区", "Huairou"),
    ("pinggu", "平谷区", "Pinggu"),
    ("miyun", "密云区", "Miyun"),
    ("yanqing", "延庆区", "Yanqing"),
];

/// (code, name zh, name en, institution noun zh, noun en, how many)
const CATEGORIES: &[(&str, &str, &str, &str, &str, usize)] = &[
    (
        "water",
        "供水",
        "Water supply",
        "供水营业厅",
        "Water Service Hall",
        8,
    ),
    (
        "power",
        "供电",
        "Electric power",
        "供电营业厅",
        "Power Service Hall",
        8,
    ),
    ("gas", "燃气", "Gas", "燃气服务站", "Gas Service Station", 7),
    (
        "heating",
        "供热",
        "Heating",
        "供热服务中心",
        "Heating Service Centre",
        7,
    ),
    (
        "transit",
        "公共交通",
        "Public transport",
        "公交客运服务中心",
        "Transit Service Centre",
        8,
    ),
    ("hospital", "医院", "Hospitals", "医院", "Hospital", 8),
    (
        "telecom",
        "通信",
        "Telecom",
        "通信营业厅",
        "Telecom Store",
        7,
    ),
    (
        "postal",
        "邮政",
        "Postal service",
        "邮政支局",
        "Post Office",
        7,
    ),
];

/// The dimensions of the default model: (code, zh, en).
const DIMENSIONS: &[(&str, &str, &str)] = &[
    ("attitude", "服务态度", "Attitude of staff"),
    ("efficiency", "办事效率", "Efficiency"),
    ("environment", "服务环境", "Premises"),
    ("transparency", "公开透明", "Transparency"),
    ("outcome", "办理结果", "Outcome"),
];

/// Items every questionnaire has: (code, dimension, zh, en).
const COMMON_ITEMS: &[(&str, &str, &str, &str)] = &[
    (
        "att1",
        "attitude",
        "工作人员的服务态度",
        "Courtesy of the staff",
    ),
    (
        "att2",
        "attitude",
        "对您问题的解答是否耐心清楚",
        "Patience and clarity in answering your questions",
    ),
    ("eff1", "efficiency", "办理业务的速度", "Speed of service"),
    ("eff2", "efficiency", "排队等候的时间", "Waiting time"),
    (
        "env1",
        "environment",
        "服务场所的环境与设施",
        "Premises and facilities",
    ),
    (
        "tra1",
        "transparency",
        "收费标准与办事流程公开透明",
        "Openness of fees and procedures",
    ),
    (
        "out1",
        "outcome",
        "您的事情是否得到解决",
        "Whether your matter was resolved",
    ),
];

/// One sector-specific outcome item per category.
fn sector_item(category: &str) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    Some(match category {
        "water" => (
            "out2",
            "outcome",
            "供水水质与水压",
            "Water quality and pressure",
        ),
        "power" => ("out2", "outcome", "供电的可靠性", "Reliability of supply"),
        "heating" => (
            "out2",
            "outcome",
            "室内供暖温度达标",
            "Indoor heating temperature",
        ),
        "hospital" => ("out2", "outcome", "诊疗效果", "Outcome of treatment"),
        "transit" => (
            "out2",
            "outcome",
            "车辆准点与运行安全",
            "Punctuality and safety",
        ),
        _ => return None,
    })
}

/// Seeds the demo data set if the database has no institution yet. Returns
/// whether it seeded.
pub async fn seed_if_empty(db: &sea_orm::DatabaseConnection) -> anyhow::Result<bool> {
    let txn = db
        .begin()
        .await
        .context("Failed to begin the seed transaction")?;
    if institution::Entity::find()
        .count(&txn)
        .await
        .context("Failed to count institutions")?
        > 0
    {
        return Ok(false);
    }
    seed(&txn).await?;
    txn.commit()
        .await
        .context("Failed to commit the demo data")?;
    Ok(true)
}

async fn seed(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    let dimensions: Vec<_> = DIMENSIONS
        .iter()
        .map(|(code, zh, en)| dimension::ActiveModel {
            code: Set((*code).into()),
            name_zh: Set((*zh).into()),
            name_en: Set((*en).into()),
            ..Default::default()
        })
        .collect();
    dimension::Entity::insert_many(dimensions)
        .exec_without_returning(db)
        .await
        .context("Failed to seed the dimensions")?;
    let mut district_ids = Vec::new();
    for (code, zh, en) in DISTRICTS {
        let row = district::ActiveModel {
            code: Set((*code).into()),
            name_zh: Set((*zh).into()),
            name_en: Set((*en).into()),
            ..Default::default()
        };
        let id = district::Entity::insert(row)
            .exec(db)
            .await
            .context("Failed to seed a district")?
            .last_insert_id;
        district_ids.push(id);
    }
    let now = Utc::now();
    for (ci, (code, zh, en, noun_zh, noun_en, count)) in CATEGORIES.iter().enumerate() {
        let row = category::ActiveModel {
            code: Set((*code).into()),
            name_zh: Set((*zh).into()),
            name_en: Set((*en).into()),
            ..Default::default()
        };
        let category_id = category::Entity::insert(row)
            .exec(db)
            .await
            .context("Failed to seed a category")?
            .last_insert_id;
        for n in 0..*count {
            // Spread each sector over the districts.
            let d = (ci * 5 + n * 2) % DISTRICTS.len();
            let (_, d_zh, d_en) = DISTRICTS[d];
            let row = institution::ActiveModel {
                code: Set(format!("{code}-{:02}", n + 1)),
                name_zh: Set(format!("{d_zh}第{}{noun_zh}", n + 1)),
                name_en: Set(format!("{d_en} {noun_en} No. {}", n + 1)),
                category_id: Set(category_id),
                district_id: Set(district_ids[d]),
                address: Set(String::new()),
                active: Set(true),
                ..Default::default()
            };
            institution::Entity::insert(row)
                .exec(db)
                .await
                .context("Failed to seed an institution")?;
        }
        let q = questionnaire::ActiveModel {
            category_id: Set(category_id),
            version: Set(1),
            created_at: Set(now),
            ..Default::default()
        };
        let qid = questionnaire::Entity::insert(q)
            .exec(db)
            .await
            .context("Failed to seed a questionnaire")?
            .last_insert_id;
        let items = COMMON_ITEMS.iter().copied().chain(sector_item(code));
        let rows: Vec<_> = items
            .enumerate()
            .map(
                |(pos, (icode, dim, zh, en))| questionnaire_item::ActiveModel {
                    questionnaire_id: Set(qid),
                    code: Set(icode.into()),
                    dimension_code: Set(dim.into()),
                    text_zh: Set(zh.into()),
                    text_en: Set(en.into()),
                    position: Set(pos as i32 + 1),
                    required: Set(true),
                    ..Default::default()
                },
            )
            .collect();
        questionnaire_item::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .context("Failed to seed questionnaire items")?;
    }
    Ok(())
}
