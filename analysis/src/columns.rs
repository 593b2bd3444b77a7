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
// Optional `responses` columns of the integrity method (`integrity.md`).
pub const SUBMITTED_AT: &str = "submitted_at";
pub const RESPONDENT: &str = "respondent";
pub const NETWORK: &str = "network";
pub const COMMENT_KEY: &str = "comment_key";

// Source values.
pub const CITIZEN: &str = "citizen";
pub const ASSESSOR: &str = "assessor";

// Output tables.
pub const INSTITUTION_INDICATORS: &str = "institution_indicators";
pub const DIMENSION_INDICATORS: &str = "dimension_indicators";
pub const GROUP_INDICATORS: &str = "group_indicators";
pub const SURVEY_QUALITY: &str = "survey_quality";
pub const INTEGRITY: &str = "integrity";

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

pub const N: &str = "n";
pub const NETWORK_TOP_SHARE: &str = "network_top_share";
pub const BURST_SHARE: &str = "burst_share";
pub const DUPLICATE_COMMENT_SHARE: &str = "duplicate_comment_share";
pub const ALL_TOP_SHARE: &str = "all_top_share";
pub const ROAMING_SHARE: &str = "roaming_share";
pub const SPEEDER_SHARE: &str = "speeder_share";
pub const Z_NETWORK: &str = "z_network";
pub const Z_BURST: &str = "z_burst";
pub const Z_DUPLICATE_COMMENT: &str = "z_duplicate_comment";
pub const Z_ALL_TOP: &str = "z_all_top";
pub const Z_ROAMING: &str = "z_roaming";
pub const Z_SPEEDER: &str = "z_speeder";
pub const FLAGS: &str = "flags";
pub const FLAGGED: &str = "flagged";
pub const TOP_NETWORK: &str = "top_network";
pub const TOP_NETWORK_N: &str = "top_network_n";
pub const BURST_START: &str = "burst_start";
pub const BURST_N: &str = "burst_n";
pub const TOP_COMMENT_KEY: &str = "top_comment_key";
pub const TOP_COMMENT_N: &str = "top_comment_n";

/// The integrity measures in flag order: (flag name, share column, z column).
pub const INTEGRITY_MEASURES: [(&str, &str, &str); 6] = [
    ("network", NETWORK_TOP_SHARE, Z_NETWORK),
    ("burst", BURST_SHARE, Z_BURST),
    (
        "duplicate_comment",
        DUPLICATE_COMMENT_SHARE,
        Z_DUPLICATE_COMMENT,
    ),
    ("all_top", ALL_TOP_SHARE, Z_ALL_TOP),
    ("roaming", ROAMING_SHARE, Z_ROAMING),
    ("speeder", SPEEDER_SHARE, Z_SPEEDER),
];

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

/// Column order of `integrity`.
pub const INTEGRITY_COLUMNS: [&str; 24] = [
    PERIOD,
    INSTITUTION_CODE,
    CATEGORY_CODE,
    N,
    NETWORK_TOP_SHARE,
    BURST_SHARE,
    DUPLICATE_COMMENT_SHARE,
    ALL_TOP_SHARE,
    ROAMING_SHARE,
    SPEEDER_SHARE,
    Z_NETWORK,
    Z_BURST,
    Z_DUPLICATE_COMMENT,
    Z_ALL_TOP,
    Z_ROAMING,
    Z_SPEEDER,
    FLAGS,
    FLAGGED,
    TOP_NETWORK,
    TOP_NETWORK_N,
    BURST_START,
    BURST_N,
    TOP_COMMENT_KEY,
    TOP_COMMENT_N,
];
