//! The configuration file's shape: plain serde structs mirroring the TOML keys of SPEC.md
//! ("Configuration" and every key named in "Line settings"). Unknown keys are rejected
//! everywhere (`deny_unknown_fields`); defaults live here. Semantic checks are in `validate`.

use super::duration::Dur;
use super::limits::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub departments: Vec<DepartmentConfig>,
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    #[serde(default)]
    pub lines: Vec<LineConfig>,
    #[serde(default)]
    pub quick_answers: Vec<QuickAnswerListConfig>,
    /// `[contacts]`: the contact registry's settings.
    #[serde(default)]
    pub contacts: super::ContactsConfig,
    /// `[[webhooks]]`: where events are POSTed.
    #[serde(default)]
    pub webhooks: Vec<super::WebhookConfig>,
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    pub admin_token: Option<String>,
    pub admin_token_sha256: Option<String>,
    /// Routing shards (threads owning lines); 0 means one per core.
    pub shards: usize,
    /// How long the messages of a closed dialog are kept (none: forever). The dialog's summary
    /// (participants, times, KPI figures, rating) stays.
    pub history_retention: Option<Dur>,
    /// Lets webhook URLs point at loopback, private and link-local addresses (off: refused).
    pub webhooks_allow_private: bool,
    /// The store's page cache in MiB (read when the server starts).
    pub store_cache_mib: u64,
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7878".into(),
            data_dir: PathBuf::from("./switchboard-data"),
            admin_token: None,
            admin_token_sha256: None,
            shards: 0,
            history_retention: None,
            webhooks_allow_private: false,
            store_cache_mib: 256,
            limits: Limits::default(),
        }
    }
}

/// `[[departments]]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// `[[operators]]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    /// Departments this operator belongs to (in addition to `departments[].members`).
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub supervisor: bool,
    #[serde(default)]
    pub dismissed: bool,
    /// A bot account: connects like an operator, used by `lines[].bot`.
    #[serde(default)]
    pub bot: bool,
    /// Vacation date ranges, inclusive, in the operator's `timezone`.
    #[serde(default)]
    pub vacation: Vec<VacationConfig>,
    /// IANA time zone for `vacation` dates; default UTC.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// Most concurrent dialogs across all lines.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
}

fn default_capacity() -> u32 {
    1000
}

/// One vacation: `{ from = "2026-12-20", to = "2026-12-31" }` (both days included).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VacationConfig {
    pub from: String,
    pub to: String,
}

/// `[[lines]]`: one routing configuration.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub typing_preview: bool,
    #[serde(default)]
    pub operator_display: OperatorDisplay,
    /// Per-operator display values for `operator_display = "override"`.
    #[serde(default)]
    pub display_overrides: BTreeMap<String, DisplayOverride>,
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Name of the quick-answer list operators of this line use.
    #[serde(default)]
    pub quick_answers: Option<String>,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub auto: AutoConfig,
    #[serde(default)]
    pub rating: RatingConfig,
    #[serde(default)]
    pub hours: Option<HoursConfig>,
    #[serde(default)]
    pub kpi: KpiConfig,
    #[serde(default)]
    pub bot: Option<BotConfig>,
    #[serde(default)]
    pub consent: Option<ConsentConfig>,
    /// Origins (`https://shop.example`, `http://localhost:8080`) whose pages may run this line's
    /// widget; a widget connection from any other page is refused. Empty: any origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// What the widget asks for before the first message (`name`, `email`, `phone`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prechat: Vec<PrechatField>,
    /// `[lines.crm]`: the chat tracker's settings for this line.
    #[serde(default)]
    pub crm: super::CrmConfig,
}

/// A detail the widget's pre-chat form asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrechatField {
    Name,
    Email,
    Phone,
}

impl PrechatField {
    /// The key as written in the config and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            PrechatField::Name => "name",
            PrechatField::Email => "email",
            PrechatField::Phone => "phone",
        }
    }
}

fn yes() -> bool {
    true
}

fn default_lang() -> String {
    "en".into()
}

/// `operator_display`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorDisplay {
    #[default]
    Profile,
    Override,
    Hidden,
}

/// `display_overrides.<operator id>`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayOverride {
    pub name: Option<String>,
    pub title: Option<String>,
    pub avatar: Option<String>,
}

/// `[lines.queue]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Operator ids and `"dept:<id>"`, in order.
    pub members: Vec<String>,
    pub mode: QueueMode,
    pub transfer_after: Dur,
    pub check_availability: bool,
    /// Eligibility follows the workday (start/pause/end) instead of online presence.
    pub workday_tracking: bool,
    pub limit: Option<LimitConfig>,
    pub pause_after_missed: Option<u32>,
    pub escalation: Vec<EscalationStepConfig>,
    pub reassign_on_offline: Option<ReassignConfig>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            members: Vec::new(),
            mode: QueueMode::Even,
            transfer_after: Dur::from_secs(120),
            check_availability: true,
            workday_tracking: false,
            limit: None,
            pause_after_missed: None,
            escalation: Vec::new(),
            reassign_on_offline: None,
        }
    }
}

/// `queue.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMode {
    Even,
    Balanced,
    Strict,
    All,
}

impl QueueMode {
    /// The name used in config and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueMode::Even => "even",
            QueueMode::Balanced => "balanced",
            QueueMode::Strict => "strict",
            QueueMode::All => "all",
        }
    }
}

/// `queue.limit = { max, count }`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    pub max: u32,
    #[serde(default)]
    pub count: CountMode,
}

/// Which of an operator's dialogs count toward `limit.max`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountMode {
    #[default]
    All,
    ExcludeClosed,
    ExcludeAwaitingClient,
    ExcludeAnswered,
}

/// One `queue.escalation` step.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStepConfig {
    pub after: Dur,
    pub add: Vec<String>,
}

/// `queue.reassign_on_offline = { after = "5m", text = "..." }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignConfig {
    pub after: Dur,
    #[serde(default)]
    pub text: Option<String>,
}

/// `[lines.auto]`: automatic actions.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoConfig {
    pub greeting_text: Option<String>,
    pub no_operators_text: Option<String>,
    pub unanswered_after: Option<Dur>,
    pub unanswered_text: Option<String>,
    pub rating_wait: Dur,
    pub client_idle_close: Option<IdleCloseConfig>,
    pub operator_silence_close: Dur,
}

impl Default for AutoConfig {
    fn default() -> Self {
        Self {
            greeting_text: None,
            no_operators_text: None,
            unanswered_after: None,
            unanswered_text: None,
            rating_wait: Dur::from_ms(0),
            client_idle_close: None,
            operator_silence_close: Dur::from_secs(30 * 86_400),
        }
    }
}

/// `auto.client_idle_close`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdleCloseConfig {
    pub after: Dur,
    #[serde(default)]
    pub action: IdleAction,
    #[serde(default)]
    pub text: Option<String>,
}

/// `client_idle_close.action`: close silently, or send `text` first and then close.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleAction {
    #[default]
    Close,
    Text,
}

/// `[lines.rating]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RatingConfig {
    pub enabled: bool,
    pub close_on_rating: bool,
}

/// `[lines.hours]`: working hours.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HoursConfig {
    pub timezone: String,
    /// Day (`mon`..`sun`) → `"09:00-18:00"` or `"09:00-13:00,14:00-18:00"`; absent days are
    /// weekends.
    #[serde(default)]
    pub week: BTreeMap<String, String>,
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub off_hours_text: Option<String>,
    #[serde(default)]
    pub route_off_hours: bool,
}

/// `[lines.kpi]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiConfig {
    pub first_response: Option<KpiTargetConfig>,
    pub response: Option<KpiTargetConfig>,
}

/// One KPI indicator: `{ target, notify, text }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KpiTargetConfig {
    pub target: Dur,
    #[serde(default)]
    pub notify: Vec<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// `lines.bot`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    pub operator: String,
    #[serde(default)]
    pub when: BotWhen,
    #[serde(default = "default_handoff")]
    pub handoff_after: Dur,
}

fn default_handoff() -> Dur {
    Dur::from_secs(300)
}

/// When the bot gets a dialog first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BotWhen {
    #[default]
    EveryDialog,
    FirstContact,
}

/// `lines.consent`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    pub text: String,
    #[serde(default = "default_consent_version")]
    pub version: u32,
    #[serde(default)]
    pub required: bool,
}

fn default_consent_version() -> u32 {
    1
}

/// `[[quick_answers]]`: a named list of canned replies.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuickAnswerListConfig {
    pub id: String,
    #[serde(default)]
    pub items: Vec<String>,
}
