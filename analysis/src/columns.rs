//! Column and table names, as the spec spells them.

// Input tables.
pub const INSTITUTIONS: &str = "institutions";
pub const RESPONSES: &str = "responses";
pub const ANSWERS: &str = "answers";
pub const MODEL: &str = "model";

// Input columns.
pub const INSTITUTION_CODE: &str = "institution_code";
pub const CATEGORY_CODE: &str = "category_code";
pub const DISTRICT_CODE: &str = "district_code";
pub const RESPONSE_ID: &str = "response_id";
pub const SOURCE: &str = "source";
pub const PERIOD: &str = "period";
pub const DURATION_MS: &str = "duration_ms";
pub const VOIDED: &str = "voided";
pub const ITEM_CODE: &str = "item_code";
pub const DIMENSION_CODE: &str = "dimension_code";
pub const RATING: &str = "rating";

// Source values.
pub const CITIZEN: &str = "citizen";
pub const ASSESSOR: &str = "assessor";

// Output tables.
pub const INSTITUTION_INDICATORS: &str = "institution_indicators";
pub const DIMENSION_INDICATORS: &str = "dimension_indicators";
pub const GROUP_INDICATORS: &str = "group_indicators";
pub const SURVEY_QUALITY: &str = "survey_quality";

// Output columns.
pub const N_CITIZEN: &str = "n_citizen";
pub const N_ASSESSOR: &str = "n_assessor";
pub const N_EXCLUDED: &str = "n_excluded";
pub const INDEX_CITIZEN: &str = "index_citizen";
pub const INDEX_ASSESSOR: &str = "index_assessor";
pub const INDEX: &str = "index";
pub const SE: &str = "se";
pub const CI_LOW: &str = "ci_low";
pub const CI_HIGH: &str = "ci_high";
pub const SATISFIED_RATE: &str = "satisfied_rate";
pub const POOR_RATE: &str = "poor_rate";
pub const SCORE: &str = "score";
pub const POINTS: &str = "points";
pub const GRADE: &str = "grade";
pub const RANK_IN_CATEGORY: &str = "rank_in_category";
pub const DELTA_PREV: &str = "delta_prev";
pub const LOW_SAMPLE: &str = "low_sample";
pub const RECTIFICATION: &str = "rectification";
pub const GROUP_TYPE: &str = "group_type";
pub const GROUP_CODE: &str = "group_code";
pub const N_INSTITUTIONS: &str = "n_institutions";
pub const N_RESPONSES: &str = "n_responses";
pub const MEAN_SCORE: &str = "mean_score";
pub const MIN_SCORE: &str = "min_score";
pub const MAX_SCORE: &str = "max_score";
pub const N_VOIDED: &str = "n_voided";
pub const N_INCOMPLETE: &str = "n_incomplete";
pub const N_SPEEDER: &str = "n_speeder";
pub const N_VALID: &str = "n_valid";
pub const N_STRAIGHTLINER: &str = "n_straightliner";
pub const CRONBACH_ALPHA: &str = "cronbach_alpha";

/// Group types in `group_indicators`.
pub const GROUP_CATEGORY: &str = "category";
pub const GROUP_DISTRICT: &str = "district";

/// Column order of `institution_indicators`.
pub const INSTITUTION_INDICATORS_COLUMNS: [&str; 22] = [
    PERIOD,
    INSTITUTION_CODE,
    CATEGORY_CODE,
    DISTRICT_CODE,
    N_CITIZEN,
    N_ASSESSOR,
    N_EXCLUDED,
    INDEX_CITIZEN,
    INDEX_ASSESSOR,
    INDEX,
    SE,
    CI_LOW,
    CI_HIGH,
    SATISFIED_RATE,
    POOR_RATE,
    SCORE,
    POINTS,
    GRADE,
    RANK_IN_CATEGORY,
    DELTA_PREV,
    LOW_SAMPLE,
    RECTIFICATION,
];

/// Column order of `dimension_indicators`.
pub const DIMENSION_INDICATORS_COLUMNS: [&str; 7] = [
    PERIOD,
    INSTITUTION_CODE,
    DIMENSION_CODE,
    N_CITIZEN,
    N_ASSESSOR,
    INDEX,
    SE,
];

/// Column order of `group_indicators`.
pub const GROUP_INDICATORS_COLUMNS: [&str; 8] = [
    PERIOD,
    GROUP_TYPE,
    GROUP_CODE,
    N_INSTITUTIONS,
    N_RESPONSES,
    MEAN_SCORE,
    MIN_SCORE,
    MAX_SCORE,
];

/// Column order of `survey_quality`.
pub const SURVEY_QUALITY_COLUMNS: [&str; 9] = [
    PERIOD,
    CATEGORY_CODE,
    N_RESPONSES,
    N_VOIDED,
    N_INCOMPLETE,
    N_SPEEDER,
    N_VALID,
    N_STRAIGHTLINER,
    CRONBACH_ALPHA,
];
