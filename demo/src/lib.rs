//! The demo year: about 100 units of a prefecture-level city and a few thousand cases
//! that walk every branch of docs/domain/lifecycle.md — returns accepted and rejected, replies sent
//! back, late feedback and missed deadlines, rectification promises, memos and leader
//! instructions, supervision, rumour referrals with every police outcome, reopened
//! cases, mass incidents, penalties and commendations — in realistic proportions.
//!
//! It is a simulation, not a fixture: an agenda of timed steps runs through the real
//! command handler under a manual clock, so every event is decided by the domain, and
//! deadline warnings and misses are written by the same rule the service uses. The same
//! seed gives the same year.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;
use whistle_app::{CommandHandler, Envelope, ManualClock};
use whistle_domain::calendar::{shanghai_date, start_of_shanghai_day};
use whistle_domain::commands::ReferencedUnit;
use whistle_domain::events::{Heat, Period, Post};
use whistle_domain::rules::CaseRules;
use whistle_domain::text::RequiredText;
use whistle_domain::*;
use whistle_store::{Database, EventStore};

pub const DEFAULT_SEED: u64 = 2026;

/// First day of the demo year (Monday 2025-11-17, Asia/Shanghai).
fn year_start() -> DateTime<Utc> {
    start_of_shanghai_day(NaiveDate::from_ymd_opt(2025, 11, 17).expect("valid date"))
}

/// Days in the demo year: 2025-11-17 to 2026-11-16. Cases flagged in the last days
/// are still open when it stops.
pub const YEAR_DAYS: i64 = 364;

/// What the loader did.
#[derive(Debug)]
pub struct DemoReport {
    pub units: usize,
    pub cases: usize,
    pub events: i64,
    pub seconds: f64,
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "demo loaded: {} units, {} cases, {} events in {:.1} s ({:.0} events/s)",
            self.units,
            self.cases,
            self.events,
            self.seconds,
            self.events as f64 / self.seconds.max(0.001)
        )
    }
}

/// How far a demo load is: days of the year simulated, of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoProgress {
    pub days_done: i64,
    pub days: i64,
}

/// A callback told how far a load is (at most once per simulated day).
pub type ReportProgress<'a> = &'a mut (dyn FnMut(DemoProgress) + Send);

/// Load the demo year into an empty database, deciding every command under `rules`
/// (the rules the service will run with), telling `report` how far it is.
pub async fn load(
    database_url: &str,
    seed: u64,
    rules: &CaseRules,
    report: ReportProgress<'_>,
) -> anyhow::Result<DemoReport> {
    load_days(database_url, seed, YEAR_DAYS, rules, report).await
}

/// Load the first `days` days of the demo year into an empty database.
pub async fn load_days(
    database_url: &str,
    seed: u64,
    days: i64,
    rules: &CaseRules,
    report: ReportProgress<'_>,
) -> anyhow::Result<DemoReport> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    if store.head_position().await? > 0 {
        bail!(
            "the database at {database_url} already holds events; the demo loads into an empty database only"
        );
    }
    let started = std::time::Instant::now();
    let clock = ManualClock::starting_at(year_start());
    // The demo's commands are not operators' actions: they are logged at debug level.
    let handler =
        CommandHandler::new(store.clone(), rules.clone(), Arc::new(clock.clone())).quiet();
    let mut sim = Simulation::new(handler, clock, seed, year_start() + Duration::days(days));
    sim.register_units().await?;
    sim.plan_year();
    sim.run(days, report).await?;
    sim.assess_year().await?;
    let events = store.head_position().await?;
    let report = DemoReport {
        units: sim.units.len(),
        cases: sim.cases.len(),
        events,
        seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!(%report, "demo loaded");
    store.database().close().await;
    Ok(report)
}

/// Load the demo year unless the database already holds events.
pub async fn load_if_empty(
    database_url: &str,
    seed: u64,
    rules: &CaseRules,
    report: ReportProgress<'_>,
) -> anyhow::Result<()> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    let head = store.head_position().await?;
    store.database().close().await;
    if head > 0 {
        tracing::info!(
            head,
            "the database already holds events; not loading the demo"
        );
        return Ok(());
    }
    let loaded = load(database_url, seed, rules, report).await?;
    eprintln!("{loaded}");
    Ok(())
}

struct DemoUnit {
    id: UnitId,
    name: &'static str,
    kind: UnitKind,
    parent: Option<UnitId>,
}

/// Problem classes of the demo: tag, candidate lead departments, title, whether it
/// tends to be an emergency, a policy misreading, or attract rumours.
struct ProblemKind {
    class: &'static str,
    departments: &'static [&'static str],
    title: &'static str,
    emergency: bool,
    policy: bool,
    rumour_prone: bool,
    weight: u32,
}

const PROBLEMS: &[ProblemKind] = &[
    ProblemKind {
        class: "道路塌陷",
        departments: &["city-transport", "city-housing", "city-urban"],
        title: "{place}路面塌陷,车辆险些陷入",
        emergency: true,
        policy: false,
        rumour_prone: true,
        weight: 8,
    },
    ProblemKind {
        class: "出租车宰客",
        departments: &["city-transport"],
        title: "{place}出租车绕路宰客,乘客投诉无门",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 7,
    },
    ProblemKind {
        class: "噪音扰民",
        departments: &["city-urban", "city-environment"],
        title: "{place}工地夜间施工噪音扰民",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 10,
    },
    ProblemKind {
        class: "食品安全",
        departments: &["city-market"],
        title: "{place}一餐馆后厨卫生堪忧",
        emergency: false,
        policy: false,
        rumour_prone: true,
        weight: 7,
    },
    ProblemKind {
        class: "拖欠工资",
        departments: &["city-hrss"],
        title: "{place}一工地拖欠农民工工资",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 8,
    },
    ProblemKind {
        class: "物业纠纷",
        departments: &["city-housing"],
        title: "{place}小区物业乱收费、不作为",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 10,
    },
    ProblemKind {
        class: "校园安全",
        departments: &["city-education"],
        title: "{place}学校门口上下学交通秩序混乱",
        emergency: false,
        policy: false,
        rumour_prone: true,
        weight: 5,
    },
    ProblemKind {
        class: "就医难",
        departments: &["city-health", "city-medical"],
        title: "{place}医院挂号难、排队久",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 6,
    },
    ProblemKind {
        class: "环境污染",
        departments: &["city-environment", "city-water"],
        title: "{place}河道发黑发臭",
        emergency: false,
        policy: false,
        rumour_prone: true,
        weight: 7,
    },
    ProblemKind {
        class: "医保政策误读",
        departments: &["city-medical"],
        title: "网传门诊报销比例下调,{place}群众担忧",
        emergency: false,
        policy: true,
        rumour_prone: true,
        weight: 4,
    },
    ProblemKind {
        class: "违章建筑",
        departments: &["city-urban", "city-resources"],
        title: "{place}小区楼顶违建无人管",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 6,
    },
    ProblemKind {
        class: "积水内涝",
        departments: &["city-water", "city-emergency"],
        title: "暴雨后{place}道路积水严重",
        emergency: true,
        policy: false,
        rumour_prone: true,
        weight: 4,
    },
    ProblemKind {
        class: "景区管理",
        departments: &["city-culture"],
        title: "{place}景区门票乱涨价",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 3,
    },
    ProblemKind {
        class: "养老服务",
        departments: &["city-civil"],
        title: "{place}养老院服务质量差",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 3,
    },
    ProblemKind {
        class: "公交服务",
        departments: &["city-bus", "city-transport"],
        title: "{place}公交车长时间不来",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 5,
    },
    ProblemKind {
        class: "停水停电",
        departments: &["city-water", "city-power"],
        title: "{place}无故停水停电",
        emergency: false,
        policy: false,
        rumour_prone: false,
        weight: 5,
    },
    ProblemKind {
        class: "安全生产",
        departments: &["city-emergency", "city-fire"],
        title: "{place}一厂房起火冒出浓烟",
        emergency: true,
        policy: false,
        rumour_prone: true,
        weight: 3,
    },
    ProblemKind {
        class: "公积金办理",
        departments: &["city-fund"],
        title: "{place}公积金提取手续繁琐",
        emergency: false,
        policy: true,
        rumour_prone: false,
        weight: 3,
    },
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("city-housing", "市住建局"),
    ("city-transport", "市交通运输局"),
    ("city-urban", "市城管局"),
    ("city-market", "市市场监管局"),
    ("city-environment", "市生态环境局"),
    ("city-education", "市教育局"),
    ("city-health", "市卫健委"),
    ("city-hrss", "市人社局"),
    ("city-civil", "市民政局"),
    ("city-resources", "市自然资源局"),
    ("city-water", "市水务局"),
    ("city-emergency", "市应急管理局"),
    ("city-culture", "市文旅局"),
    ("city-agriculture", "市农业农村局"),
    ("city-commerce", "市商务局"),
    ("city-medical", "市医保局"),
    ("city-tax", "市税务局"),
    ("city-bus", "市公交集团"),
    ("city-development", "市发改委"),
    ("city-finance", "市财政局"),
    ("city-justice", "市司法局"),
    ("city-petition", "市信访局"),
    ("city-veterans", "市退役军人事务局"),
    ("city-fund", "市住房公积金中心"),
    ("city-hotline", "市12345热线中心"),
    ("city-fire", "市消防救援支队"),
    ("city-weather", "市气象局"),
    ("city-forestry", "市林业局"),
    ("city-sports", "市体育局"),
    ("city-power", "国网市供电公司"),
];

const DISTRICTS: &[(&str, &str, [&str; 10])] = &[
    (
        "dist-east",
        "城东区",
        [
            "东关街道",
            "东湖街道",
            "新华街道",
            "人民街道",
            "解放街道",
            "和平街道",
            "建设街道",
            "朝阳街道",
            "胜利街道",
            "光明街道",
        ],
    ),
    (
        "dist-west",
        "城西区",
        [
            "西关街道",
            "西湖街道",
            "长安街道",
            "文化街道",
            "振兴街道",
            "团结街道",
            "育才街道",
            "红旗街道",
            "新村街道",
            "民主街道",
        ],
    ),
    (
        "dist-hitech",
        "高新区",
        [
            "科技城街道",
            "创业街道",
            "软件园街道",
            "未来城街道",
            "智谷街道",
            "创新街道",
            "云谷街道",
            "天府街道",
            "英才街道",
            "汇智街道",
        ],
    ),
    (
        "dist-econ",
        "经开区",
        [
            "临港街道",
            "产业园街道",
            "物流园街道",
            "新港街道",
            "金桥街道",
            "开元街道",
            "丰收街道",
            "兴业街道",
            "东港街道",
            "宏图街道",
        ],
    ),
    (
        "county-beihu",
        "北湖县",
        [
            "北湖镇",
            "青山镇",
            "白马镇",
            "龙泉镇",
            "双河镇",
            "石桥镇",
            "柳林乡",
            "桃源乡",
            "金沙乡",
            "凤凰乡",
        ],
    ),
    (
        "county-nanshan",
        "南山县",
        [
            "南山镇",
            "云台镇",
            "清水镇",
            "古城镇",
            "大坪镇",
            "黄田镇",
            "梅岭乡",
            "竹溪乡",
            "松林乡",
            "望江乡",
        ],
    ),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];

fn person(user: &str, name: &str, role: Role, unit: &str) -> Actor {
    Actor::new(
        UserId::parse(user).expect("demo user ids parse"),
        name,
        role,
        UnitId::parse(unit).expect("demo unit codes parse"),
    )
    .expect("demo actors are valid")
}

fn text(s: &str) -> RequiredText {
    RequiredText::parse("text", s).expect("demo texts are not blank")
}

/// One timed step of one case.
#[derive(Debug, Clone)]
enum Step {
    Flag,
    Attach,
    Heat,
    Triage,
    Escalate,
    Assign(usize),
    Return(usize),
    AcceptReturn(usize),
    RejectReturn(usize),
    Accept(usize),
    Verify(usize),
    Submit(usize, usize),
    SendBack(usize, usize),
    Approve(usize, usize),
    Promise(usize, NaiveDate),
    CompleteRectification(usize),
    Complete(usize),
    Urge(usize),
    PressConference,
    Respond,
    Memo,
    Instruct,
    Propose,
    ApproveReferral,
    Outcome(ReferralOutcome),
    Rebut,
    MassIncident,
    Close,
    FollowUp(FollowUpSentiment),
    Reopen,
    CheckDeadlines,
}

struct AssignmentPlan {
    id: AssignmentId,
    unit: UnitId,
    role: AssignmentRole,
    replies: Vec<ReplyId>,
}

struct CasePlan {
    id: CaseId,
    problem: usize,
    place: &'static str,
    level: Level,
    escalate_to: Option<Level>,
    categories: Vec<KeyCategory>,
    platform: Platform,
    assignments: Vec<AssignmentPlan>,
    memo: MemoId,
    referral: ReferralId,
    serial: usize,
    /// Units planned onto the case, so a reassignment after a return picks another one.
    reserved: Vec<UnitId>,
}

struct Simulation {
    handler: CommandHandler,
    clock: ManualClock,
    rng: ChaCha8Rng,
    units: Vec<DemoUnit>,
    cases: Vec<CasePlan>,
    agenda: BinaryHeap<Reverse<(i64, u64)>>,
    steps: HashMap<u64, (usize, Step)>,
    next_seq: u64,
    late_replies: HashMap<UnitId, u32>,
    rejected_returns: HashMap<UnitId, u32>,
    mass_incident_leads: Vec<(UnitId, CaseId)>,
    system: Actor,
    end: DateTime<Utc>,
}

impl Simulation {
    fn new(handler: CommandHandler, clock: ManualClock, seed: u64, end: DateTime<Utc>) -> Self {
        Self {
            handler,
            clock,
            rng: ChaCha8Rng::seed_from_u64(seed),
            units: Vec::new(),
            cases: Vec::new(),
            agenda: BinaryHeap::new(),
            steps: HashMap::new(),
            next_seq: 0,
            late_replies: HashMap::new(),
            rejected_returns: HashMap::new(),
            mass_incident_leads: Vec::new(),
            system: Actor::system(UnitId::parse("city-cac").expect("valid")),
            end,
        }
    }

    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    fn hours(&mut self, from: f64, to: f64) -> Duration {
        Duration::seconds((self.rng.random_range(from..to) * 3600.0) as i64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn schedule(&mut self, at: DateTime<Utc>, case: usize, step: Step) {
        self.next_seq += 1;
        self.agenda
            .push(Reverse((at.timestamp_micros(), self.next_seq)));
        self.steps.insert(self.next_seq, (case, step));
    }

    async fn register_units(&mut self) -> anyhow::Result<()> {
        let core: &[(&str, &'static str, UnitKind)] = &[
            ("city-cac", "市委网信办", UnitKind::CyberspaceOffice),
            ("city-leadership", "市委市政府", UnitKind::Leadership),
            (
                "city-supervision",
                "市委督查室",
                UnitKind::SupervisionOffice,
            ),
            ("city-assessment", "市考核办", UnitKind::AssessmentOffice),
            (
                "city-discipline",
                "市纪委监委",
                UnitKind::DisciplineCommission,
            ),
            ("city-police", "市公安局", UnitKind::Police),
        ];
        for (code, name, kind) in core {
            self.units.push(DemoUnit {
                id: UnitId::parse(code)?,
                name,
                kind: *kind,
                parent: None,
            });
        }
        for (code, name) in DEPARTMENTS {
            self.units.push(DemoUnit {
                id: UnitId::parse(code)?,
                name,
                kind: UnitKind::Department,
                parent: None,
            });
        }
        for (code, name, towns) in DISTRICTS {
            self.units.push(DemoUnit {
                id: UnitId::parse(code)?,
                name,
                kind: UnitKind::District,
                parent: None,
            });
            for (i, town) in towns.iter().enumerate() {
                self.units.push(DemoUnit {
                    id: UnitId::parse(&format!("{code}-t{:02}", i + 1))?,
                    name: town,
                    kind: UnitKind::TownshipOrStreet,
                    parent: Some(UnitId::parse(code)?),
                });
            }
        }
        let admin = person("admin", "系统管理员", Role::Admin, "city-cac");
        for unit in &self.units {
            let parent = match &unit.parent {
                Some(parent) => Some(self.handler.resolve_unit(parent).await?),
                None => None,
            };
            let command = UnitCommand::RegisterUnit {
                name: text(unit.name),
                kind: unit.kind,
                parent,
                jurisdiction: None,
            };
            self.handler
                .handle_unit(Envelope::by(admin.clone()), &unit.id, command)
                .await?;
        }
        Ok(())
    }

    fn pick_problem(&mut self) -> usize {
        let total: u32 = PROBLEMS.iter().map(|p| p.weight).sum();
        let mut roll = self.rng.random_range(0..total);
        for (i, problem) in PROBLEMS.iter().enumerate() {
            if roll < problem.weight {
                return i;
            }
            roll -= problem.weight;
        }
        0
    }

    /// Plan every case of the year: the flag times, then each case's steps.
    fn plan_year(&mut self) {
        let mut day = year_start();
        while day < self.end {
            let weekend = matches!(
                shanghai_date(day).weekday(),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            );
            let count = if weekend {
                self.rng.random_range(3..9)
            } else {
                self.rng.random_range(6..13)
            };
            for _ in 0..count {
                // Posts surface mostly between 07:00 and 23:00 Shanghai.
                let flagged_at = day + self.hours(7.0, 23.0);
                self.plan_case(flagged_at);
            }
            day += Duration::days(1);
        }
    }

    fn township(&mut self) -> (UnitId, &'static str) {
        let district = self.rng.random_range(0..DISTRICTS.len());
        let town = self.rng.random_range(0..10);
        let (code, _, towns) = DISTRICTS[district];
        (
            UnitId::parse(&format!("{code}-t{:02}", town + 1)).expect("valid"),
            towns[town],
        )
    }

    fn plan_case(&mut self, flagged_at: DateTime<Utc>) {
        let index = self.cases.len();
        let problem_index = self.pick_problem();
        let problem = &PROBLEMS[problem_index];
        let (town_unit, place) = self.township();
        let roll: f64 = self.rng.random();
        // 重大 and above are rare: a few dozen a year in a prefecture-level city.
        let level = match (problem.emergency, roll) {
            (true, r) if r < 0.005 => Level::Extraordinary,
            (true, r) if r < 0.045 => Level::Major,
            (true, r) if r < 0.35 => Level::Significant,
            (false, r) if r < 0.0005 => Level::Extraordinary,
            (false, r) if r < 0.005 => Level::Major,
            (false, r) if r < 0.18 => Level::Significant,
            _ => Level::General,
        };
        let escalate_to = match level {
            Level::General if self.chance(0.04) => Some(Level::Significant),
            Level::Significant if self.chance(0.02) => Some(Level::Major),
            _ => None,
        };
        let mut categories = Vec::new();
        if problem.emergency && level.is_major_or_above() {
            categories.push(KeyCategory::EmergencyOrDisaster);
        }
        if problem.policy {
            categories.push(KeyCategory::PolicyMisread);
        }
        if self.chance(0.3) {
            categories.push(KeyCategory::PublicInterest);
        }
        if self.chance(0.03) {
            categories.push(KeyCategory::MoralBottomLine);
        }
        if level.is_major_or_above() && self.chance(0.3) {
            categories.push(KeyCategory::SuperiorRequiresResponse);
        }
        let platform = Platform::ALL[self.rng.random_range(0..Platform::ALL.len())];
        let case = CasePlan {
            id: CaseId::from_uuid(self.uuid()),
            problem: problem_index,
            place,
            level,
            escalate_to,
            categories,
            platform,
            assignments: Vec::new(),
            memo: MemoId::from_uuid(self.uuid()),
            referral: ReferralId::from_uuid(self.uuid()),
            serial: index,
            reserved: Vec::new(),
        };
        self.cases.push(case);

        let mut t = flagged_at;
        self.schedule(t, index, Step::Flag);
        if self.chance(0.15) {
            let at = t + self.hours(0.5, 6.0);
            self.schedule(at, index, Step::Attach);
        }
        if self.chance(0.3) {
            let at = t + self.hours(1.0, 12.0);
            self.schedule(at, index, Step::Heat);
        }
        t += self.hours(0.2, 3.0);
        self.schedule(t, index, Step::Triage);
        let effective_level = escalate_to.unwrap_or(level);
        if escalate_to.is_some() {
            // Heat builds after the assignment: the level change reschedules its deadline.
            let at = t + self.hours(2.5, 6.0);
            self.schedule(at, index, Step::Escalate);
        }
        let feedback_hours = if effective_level.is_major_or_above() {
            24.0
        } else {
            48.0
        };
        let emergency_major = effective_level.is_major_or_above()
            && self.cases[index]
                .categories
                .contains(&KeyCategory::EmergencyOrDisaster);
        let mut last = t;

        // A few cases need no handling once triaged.
        if escalate_to.is_none() && !effective_level.is_major_or_above() && self.chance(0.05) {
            let close_at = t + self.hours(0.5, 4.0);
            self.schedule(close_at, index, Step::Close);
            return;
        }
        if emergency_major && self.chance(0.85) {
            let at = flagged_at + self.hours(3.0, 22.0);
            self.schedule(at, index, Step::PressConference);
            last = last.max(at);
        }
        if effective_level.is_major_or_above() && self.chance(0.5) {
            let memo_at = t + self.hours(0.5, 3.0);
            let instruct_at = memo_at + self.hours(1.0, 20.0);
            self.schedule(memo_at, index, Step::Memo);
            self.schedule(instruct_at, index, Step::Instruct);
            last = last.max(instruct_at);
        }
        let lead_unit = if self.chance(0.3) {
            town_unit.clone()
        } else {
            let candidates = PROBLEMS[problem_index].departments;
            UnitId::parse(candidates[self.rng.random_range(0..candidates.len())]).expect("valid")
        };
        let co_unit = if self.chance(0.25) {
            Some(if lead_unit == town_unit {
                UnitId::parse(PROBLEMS[problem_index].departments[0]).expect("valid")
            } else {
                town_unit.clone()
            })
        } else {
            None
        };
        self.cases[index].reserved.push(lead_unit.clone());
        self.cases[index].reserved.extend(co_unit.clone());
        let assign_at = t + self.hours(0.2, 2.0);
        last = last.max(self.plan_assignment(
            index,
            assign_at,
            lead_unit.clone(),
            AssignmentRole::Lead,
            feedback_hours,
            true,
        ));
        if let Some(co_unit) = co_unit {
            let co_at = assign_at + Duration::minutes(5);
            last = last.max(self.plan_assignment(
                index,
                co_at,
                co_unit,
                AssignmentRole::CoHandler,
                feedback_hours,
                false,
            ));
        }
        if PROBLEMS[problem_index].rumour_prone && self.chance(0.12) {
            let propose = t + self.hours(1.0, 12.0);
            let approve = propose + self.hours(0.5, 4.0);
            let outcome_at = approve + self.hours(12.0, 96.0);
            let roll: f64 = self.rng.random();
            let outcome = if roll < 0.65 {
                ReferralOutcome::ConfirmedRumour
            } else if roll < 0.85 {
                ReferralOutcome::NotARumour
            } else {
                ReferralOutcome::InsufficientEvidence
            };
            self.schedule(propose, index, Step::Propose);
            self.schedule(approve, index, Step::ApproveReferral);
            self.schedule(outcome_at, index, Step::Outcome(outcome));
            last = last.max(outcome_at);
            if outcome == ReferralOutcome::ConfirmedRumour {
                let rebut = outcome_at + self.hours(1.0, 6.0);
                self.schedule(rebut, index, Step::Rebut);
                last = last.max(rebut);
            }
        }
        if self.chance(0.15) {
            let at = t + self.hours(6.0, 40.0);
            self.schedule(at, index, Step::Respond);
        }
        if (effective_level == Level::Extraordinary && self.chance(0.3))
            || (effective_level == Level::Major && self.chance(0.04))
        {
            let at = t + self.hours(2.0, 30.0);
            self.schedule(at, index, Step::MassIncident);
            let lead = lead_unit.clone();
            let id = self.cases[index].id;
            self.mass_incident_leads.push((lead, id));
        }
        let close_at = last + self.hours(1.0, 30.0);
        self.schedule(close_at, index, Step::Close);
        if self.chance(0.4) {
            let follow = close_at + self.hours(24.0, 240.0);
            let roll: f64 = self.rng.random();
            if roll < 0.05 {
                self.schedule(follow, index, Step::FollowUp(FollowUpSentiment::ReFlaring));
                let reopen = follow + self.hours(1.0, 6.0);
                self.schedule(reopen, index, Step::Reopen);
                let end = self.plan_assignment(
                    index,
                    reopen + Duration::hours(1),
                    lead_unit,
                    AssignmentRole::Lead,
                    feedback_hours,
                    false,
                );
                let close_again = end + self.hours(2.0, 24.0);
                self.schedule(close_again, index, Step::Close);
            } else {
                let sentiment = if roll < 0.9 {
                    FollowUpSentiment::Calmed
                } else {
                    FollowUpSentiment::Steady
                };
                self.schedule(follow, index, Step::FollowUp(sentiment));
            }
        }
    }

    /// Plan one assignment from assignment to completion; returns when it completes.
    fn plan_assignment(
        &mut self,
        case: usize,
        assign_at: DateTime<Utc>,
        unit: UnitId,
        role: AssignmentRole,
        feedback_hours: f64,
        may_return: bool,
    ) -> DateTime<Utc> {
        let slot = self.cases[case].assignments.len();
        let id = AssignmentId::from_uuid(self.uuid());
        self.cases[case].assignments.push(AssignmentPlan {
            id,
            unit: unit.clone(),
            role,
            replies: Vec::new(),
        });
        self.schedule(assign_at, case, Step::Assign(slot));
        let due = assign_at + Duration::seconds((feedback_hours * 3600.0) as i64);
        let mut t = assign_at;
        if may_return && self.chance(0.08) {
            t += self.hours(1.0, 6.0);
            self.schedule(t, case, Step::Return(slot));
            t += self.hours(0.5, 4.0);
            if self.chance(0.6) {
                self.schedule(t, case, Step::AcceptReturn(slot));
                // The case goes to a unit not yet on it, as the new lead (or co-handler).
                let mut taken: Vec<UnitId> = self.cases[case]
                    .assignments
                    .iter()
                    .map(|a| a.unit.clone())
                    .collect();
                taken.extend(self.cases[case].reserved.iter().cloned());
                let candidates = PROBLEMS[self.cases[case].problem].departments;
                let other = match candidates
                    .iter()
                    .map(|c| UnitId::parse(c).expect("valid"))
                    .find(|c| !taken.contains(c))
                {
                    Some(unit) => unit,
                    None => loop {
                        let (town, _) = self.township();
                        if !taken.contains(&town) {
                            break town;
                        }
                    },
                };
                self.cases[case].reserved.push(other.clone());
                let reassign = t + Duration::minutes(30);
                return self.plan_assignment(case, reassign, other, role, feedback_hours, false);
            }
            self.schedule(t, case, Step::RejectReturn(slot));
            *self.rejected_returns.entry(unit.clone()).or_default() += 1;
        } else {
            t += self.hours(0.3, 8.0);
            self.schedule(t, case, Step::Accept(slot));
        }
        let accepted_at = t;
        // About one reply in eight comes after its feedback deadline.
        let late = self.chance(0.12);
        let elapsed = (due - assign_at).num_seconds() as f64;
        let fraction = if late {
            self.rng.random_range(1.05..1.8)
        } else {
            self.rng.random_range(0.15..0.9)
        };
        let mut submit = assign_at + Duration::seconds((elapsed * fraction) as i64);
        if submit <= t {
            submit = t + Duration::minutes(30);
        }
        if self.chance(0.8) {
            // Verification happens between signing for it and the first reply.
            let at = accepted_at + (submit - accepted_at) / 2;
            self.schedule(at, case, Step::Verify(slot));
        }
        let mut reply_no = 0;
        self.new_reply(case, slot);
        if self.chance(0.12) {
            self.schedule(submit, case, Step::Submit(slot, reply_no));
            let back = submit + self.hours(0.5, 3.0);
            self.schedule(back, case, Step::SendBack(slot, reply_no));
            reply_no += 1;
            self.new_reply(case, slot);
            submit = back + self.hours(1.0, 6.0);
        }
        self.schedule(submit, case, Step::Submit(slot, reply_no));
        let approve = submit + self.hours(0.2, 3.0);
        self.schedule(approve, case, Step::Approve(slot, reply_no));
        if approve > due {
            *self.late_replies.entry(unit.clone()).or_default() += 1;
            if self.chance(0.6) {
                let urge =
                    due + Duration::seconds(((approve - due).num_seconds() as f64 * 0.5) as i64);
                self.schedule(urge, case, Step::Urge(slot));
            }
        }
        let mut done = approve + self.hours(1.0, 48.0);
        if role == AssignmentRole::Lead && self.chance(0.2) {
            let promise_at = approve + Duration::minutes(40);
            let due_date = shanghai_date(promise_at) + Duration::days(self.rng.random_range(7..30));
            self.schedule(promise_at, case, Step::Promise(slot, due_date));
            let on_time = self.chance(0.85);
            let due_end = start_of_shanghai_day(due_date) + Duration::hours(18);
            let finish = if on_time {
                due_end - self.hours(1.0, 96.0)
            } else {
                due_end + self.hours(12.0, 120.0)
            };
            let finish = finish.max(promise_at + Duration::hours(2));
            self.schedule(finish, case, Step::CompleteRectification(slot));
            done = finish + self.hours(1.0, 24.0);
        }
        self.schedule(done, case, Step::Complete(slot));
        done
    }

    fn new_reply(&mut self, case: usize, slot: usize) {
        let id = ReplyId::from_uuid(self.uuid());
        self.cases[case].assignments[slot].replies.push(id);
    }

    fn officer(unit: &UnitId) -> Actor {
        let surname = SURNAMES[unit.as_str().len() % SURNAMES.len()];
        person(
            &format!("o-{unit}"),
            &format!("{surname}经办"),
            Role::Officer,
            unit.as_str(),
        )
    }

    fn head(unit: &UnitId) -> Actor {
        let surname = SURNAMES[(unit.as_str().len() + 7) % SURNAMES.len()];
        person(
            &format!("h-{unit}"),
            &format!("{surname}主任"),
            Role::UnitHead,
            unit.as_str(),
        )
    }

    async fn run(&mut self, days: i64, report: ReportProgress<'_>) -> anyhow::Result<()> {
        let start = year_start().timestamp_micros();
        let mut days_done = -1;
        let monitors = [
            person("m1", "李监测", Role::Monitor, "city-cac"),
            person("m2", "黄监测", Role::Monitor, "city-cac"),
        ];
        let dispatchers = [
            person("d1", "王研判", Role::Dispatcher, "city-cac"),
            person("d2", "赵复核", Role::Dispatcher, "city-cac"),
        ];
        let leader = person("l1", "吴市长", Role::Leader, "city-leadership");
        // The supervisors belong to the units the rules name as supervising.
        let supervision = self.handler.rules().supervision.clone();
        let cac_supervisor = person(
            "s-cac",
            "林督办",
            Role::Supervisor,
            supervision.general_unit.as_str(),
        );
        let office_supervisor = person(
            "s1",
            "郑督查",
            Role::Supervisor,
            supervision.significant_and_above_unit.as_str(),
        );
        let police = person("p1", "孙警官", Role::Police, "city-police");
        let end = self.end.timestamp_micros();
        while let Some(Reverse((at, seq))) = self.agenda.pop() {
            if at >= end {
                break;
            }
            let day = (at - start) / 86_400_000_000;
            if day > days_done {
                days_done = day;
                report(DemoProgress {
                    days_done: day.min(days),
                    days,
                });
            }
            let (case_index, step) = self
                .steps
                .remove(&seq)
                .context("every scheduled step is recorded")?;
            self.clock
                .set(DateTime::from_timestamp_micros(at).context("valid instant")?);
            let case = &self.cases[case_index];
            let case_id = case.id;
            let problem = &PROBLEMS[case.problem];
            let monitor = monitors[case.serial % 2].clone();
            let dispatcher = dispatchers[case.serial % 2].clone();
            let other_dispatcher = dispatchers[(case.serial + 1) % 2].clone();
            let assignment = |slot: usize| &case.assignments[slot];
            let (actor, command) = match &step {
                Step::Flag => {
                    let heat = Heat {
                        views: self.rng.random_range(200..50_000),
                        reposts: self.rng.random_range(0..2_000),
                        comments: self.rng.random_range(0..1_500),
                        likes: self.rng.random_range(0..5_000),
                    };
                    let title = problem.title.replace("{place}", case.place);
                    let post = Post {
                        platform: case.platform,
                        url: PostUrl::parse(&format!(
                            "https://{}.example.cn/p/{}",
                            case.platform.key().replace('_', "-"),
                            case.id
                        ))?,
                        title,
                        excerpt: format!(
                            "网友反映{}相关问题,希望有关部门尽快处理。",
                            problem.class
                        ),
                        posted_at: Some(
                            self.clock_now() - Duration::minutes(self.rng.random_range(10..600)),
                        ),
                        author: Some(format!("网友{:04}", self.rng.random_range(0..10_000))),
                        heat,
                    };
                    (monitor, CaseCommand::FlagPost { post, note: None })
                }
                Step::Attach => {
                    let post = Post {
                        platform: Platform::Douyin,
                        url: PostUrl::parse(&format!("https://douyin.example.cn/v/{}", case.id))?,
                        title: format!("{}现场视频", case.place),
                        excerpt: String::new(),
                        posted_at: None,
                        author: None,
                        heat: Heat {
                            views: self.rng.random_range(1_000..80_000),
                            ..Heat::default()
                        },
                    };
                    (monitor, CaseCommand::AttachPost { post, note: None })
                }
                Step::Heat => {
                    let url = PostUrl::parse(&format!(
                        "https://{}.example.cn/p/{}",
                        case.platform.key().replace('_', "-"),
                        case.id
                    ))?;
                    let heat = Heat {
                        views: self.rng.random_range(50_000..200_000),
                        reposts: self.rng.random_range(2_000..9_000),
                        comments: self.rng.random_range(1_500..6_000),
                        likes: self.rng.random_range(5_000..20_000),
                    };
                    (monitor, CaseCommand::RecordHeat { url, heat })
                }
                Step::Triage => (
                    dispatcher,
                    CaseCommand::TriageCase {
                        level: case.level,
                        categories: case.categories.clone(),
                        problem_class: ProblemClass::parse(problem.class)?,
                        jurisdiction: None,
                    },
                ),
                Step::Escalate => (
                    dispatcher,
                    CaseCommand::ChangeCaseLevel {
                        to: case
                            .escalate_to
                            .context("escalation planned with a level")?,
                        reason: text("转发评论量快速上升,影响扩大"),
                    },
                ),
                Step::Assign(slot) => {
                    let plan = assignment(*slot);
                    let unit: ReferencedUnit = self.handler.resolve_unit(&plan.unit).await?;
                    (
                        dispatcher,
                        CaseCommand::AssignCase {
                            assignment_id: plan.id,
                            unit,
                            role: plan.role,
                            instruction: Some(text("请核实情况,按时反馈")),
                        },
                    )
                }
                Step::Return(slot) => (
                    Self::officer(&assignment(*slot).unit),
                    CaseCommand::ReturnAssignment {
                        assignment_id: assignment(*slot).id,
                        reason: text("经核实,该事项不属于本单位职责范围"),
                    },
                ),
                Step::AcceptReturn(slot) => (
                    dispatcher,
                    CaseCommand::AcceptReturn {
                        assignment_id: assignment(*slot).id,
                        note: Some(text("同意退回,另行转办")),
                    },
                ),
                Step::RejectReturn(slot) => (
                    dispatcher,
                    CaseCommand::RejectReturn {
                        assignment_id: assignment(*slot).id,
                        note: text("属于你单位职责,请继续办理"),
                    },
                ),
                Step::Accept(slot) => (
                    Self::officer(&assignment(*slot).unit),
                    CaseCommand::AcceptAssignment {
                        assignment_id: assignment(*slot).id,
                    },
                ),
                Step::Verify(slot) => {
                    let roll: f64 = self.rng.random();
                    let finding = if roll < 0.7 {
                        Finding::True
                    } else if roll < 0.9 {
                        Finding::PartlyTrue
                    } else {
                        Finding::NotTrue
                    };
                    (
                        Self::officer(&assignment(*slot).unit),
                        CaseCommand::VerifyFacts {
                            assignment_id: assignment(*slot).id,
                            finding,
                            summary: text("已派员现场核查"),
                        },
                    )
                }
                Step::Submit(slot, n) => (
                    Self::officer(&assignment(*slot).unit),
                    CaseCommand::SubmitReply {
                        assignment_id: assignment(*slot).id,
                        reply_id: assignment(*slot).replies[*n],
                        content: text(&format!(
                            "关于{}问题:已核实情况并安排处置,后续将持续跟进。",
                            problem.class
                        )),
                    },
                ),
                Step::SendBack(slot, n) => (
                    Self::head(&assignment(*slot).unit),
                    CaseCommand::SendBackReply {
                        reply_id: assignment(*slot).replies[*n],
                        note: text("请补充处置时限和责任人"),
                    },
                ),
                Step::Approve(slot, n) => (
                    Self::head(&assignment(*slot).unit),
                    CaseCommand::ApproveReply {
                        reply_id: assignment(*slot).replies[*n],
                        note: None,
                    },
                ),
                Step::Promise(slot, due_date) => (
                    Self::officer(&assignment(*slot).unit),
                    CaseCommand::PromiseRectification {
                        assignment_id: assignment(*slot).id,
                        due_date: *due_date,
                        measures: text("制定整改方案,明确责任人和完成时限"),
                    },
                ),
                Step::CompleteRectification(slot) => (
                    Self::officer(&assignment(*slot).unit),
                    CaseCommand::CompleteRectification {
                        assignment_id: assignment(*slot).id,
                        result: text("整改已完成,经复查合格"),
                    },
                ),
                Step::Complete(slot) => (
                    Self::officer(&assignment(*slot).unit),
                    CaseCommand::CompleteAssignment {
                        assignment_id: assignment(*slot).id,
                        summary: text("问题已处置完毕"),
                    },
                ),
                Step::Urge(slot) => {
                    let level = case.escalate_to.unwrap_or(case.level);
                    let supervisor = if level == Level::General {
                        cac_supervisor.clone()
                    } else {
                        office_supervisor.clone()
                    };
                    (
                        supervisor,
                        CaseCommand::UrgeSupervision {
                            target_unit: assignment(*slot).unit.clone(),
                            note: text("已超反馈时限,请立即反馈"),
                        },
                    )
                }
                Step::PressConference => (
                    dispatcher,
                    CaseCommand::PublishResponse {
                        channel: ResponseChannel::PressConference,
                        content: text("召开新闻发布会通报事件处置情况"),
                        url: None,
                    },
                ),
                Step::Respond => (
                    dispatcher,
                    CaseCommand::PublishResponse {
                        channel: ResponseChannel::OfficialAccount,
                        content: text("通过政务新媒体发布处置进展"),
                        url: None,
                    },
                ),
                Step::Memo => (
                    dispatcher,
                    CaseCommand::SendMemo {
                        memo_id: case.memo,
                        summary: text("舆情较重,呈请领导批示"),
                    },
                ),
                Step::Instruct => (
                    leader.clone(),
                    CaseCommand::InstructOnMemo {
                        memo_id: case.memo,
                        instruction: text("请相关部门高度重视,依法依规妥善处置"),
                        deadline: None,
                    },
                ),
                Step::Propose => (
                    dispatcher,
                    CaseCommand::ProposeRumourReferral {
                        referral_id: case.referral,
                        police_unit: self
                            .handler
                            .resolve_unit(&UnitId::parse("city-police")?)
                            .await?,
                        legal_basis: text("《中华人民共和国治安管理处罚法》第二十五条"),
                        evidence: text("相关帖文截图及传播情况"),
                    },
                ),
                Step::ApproveReferral => (
                    other_dispatcher,
                    CaseCommand::ApproveRumourReferral {
                        referral_id: case.referral,
                    },
                ),
                Step::Outcome(outcome) => {
                    let action = match outcome {
                        ReferralOutcome::ConfirmedRumour => "依法对造谣者予以行政处罚",
                        ReferralOutcome::NotARumour => "经调查,所述情况基本属实,不构成谣言",
                        ReferralOutcome::InsufficientEvidence => "现有证据不足以认定",
                    };
                    (
                        police.clone(),
                        CaseCommand::RecordReferralOutcome {
                            referral_id: case.referral,
                            outcome: *outcome,
                            action: text(action),
                        },
                    )
                }
                Step::Rebut => (
                    dispatcher,
                    CaseCommand::RebutRumour {
                        referral_id: case.referral,
                        channel: ResponseChannel::AuthoritativeRelease,
                        content: text("经公安机关查证,网传信息不实"),
                    },
                ),
                Step::MassIncident => (
                    dispatcher,
                    CaseCommand::DeclareMassIncident {
                        note: text("现场出现群众聚集"),
                    },
                ),
                Step::Close => (
                    dispatcher,
                    CaseCommand::CloseCase {
                        outcome: text("问题已解决,群众满意"),
                    },
                ),
                Step::FollowUp(sentiment) => (
                    monitor,
                    CaseCommand::RecordFollowUp {
                        observation: text("持续监测相关话题讨论情况"),
                        sentiment: *sentiment,
                    },
                ),
                Step::Reopen => (
                    dispatcher,
                    CaseCommand::ReopenCase {
                        reason: text("舆情再次升温,出现次生舆情"),
                    },
                ),
                Step::CheckDeadlines => {
                    self.check_deadlines(case_index).await?;
                    continue;
                }
            };
            self.handler
                .handle_case(Envelope::by(actor), case_id, command)
                .await
                .with_context(|| {
                    format!(
                        "demo step {step:?} of case {case_id} at {}",
                        self.clock_now()
                    )
                })?;
            // Only these steps set or move deadlines.
            if matches!(
                step,
                Step::Triage
                    | Step::Escalate
                    | Step::Assign(_)
                    | Step::Promise(..)
                    | Step::Instruct
            ) {
                self.schedule_deadline_checks(case_index).await?;
            }
        }
        Ok(())
    }

    fn clock_now(&self) -> DateTime<Utc> {
        use whistle_app::Clock;
        self.clock.now()
    }

    /// After every change to a case, check its open deadlines at the moments they warn
    /// and fall due — the job the deadline process does in the service.
    async fn schedule_deadline_checks(&mut self, case_index: usize) -> anyhow::Result<()> {
        let (state, _) = self.handler.load_case(self.cases[case_index].id).await?;
        let lead = self.handler.rules().deadlines.warning_lead();
        let now = self.clock_now();
        for deadline in state.deadlines.values().filter(|d| !d.settled) {
            let warn = deadline.due_at - lead + Duration::minutes(1);
            if !deadline.approaching_recorded && warn > now {
                self.schedule(warn, case_index, Step::CheckDeadlines);
            }
            if !deadline.missed_recorded {
                self.schedule(
                    (deadline.due_at + Duration::minutes(1)).max(now),
                    case_index,
                    Step::CheckDeadlines,
                );
            }
        }
        Ok(())
    }

    async fn check_deadlines(&mut self, case_index: usize) -> anyhow::Result<()> {
        let case_id = self.cases[case_index].id;
        let (state, _) = self.handler.load_case(case_id).await?;
        for command in state.due_deadline_commands(self.clock_now(), self.handler.rules()) {
            self.handler
                .handle_case(Envelope::by(self.system.clone()), case_id, command)
                .await?;
        }
        Ok(())
    }

    /// Quarterly assessment actions: penalties for units that replied late most often or
    /// passed the buck, commendations for reliable ones, a veto for a mass incident,
    /// an accountability referral and its decision, and one revoked penalty.
    async fn assess_year(&mut self) -> anyhow::Result<()> {
        let evaluator = person("e1", "钱考核", Role::Evaluator, "city-assessment");
        let inspector = person("i1", "冯纪检", Role::Inspector, "city-discipline");
        let period = Period {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).context("date")?,
            to: NaiveDate::from_ymd_opt(2027, 1, 1).context("date")?,
        };
        let assessed_at = self.clock_now().max(self.end - Duration::days(5));
        self.clock.set(assessed_at);
        let mut late: Vec<(UnitId, u32)> = self
            .late_replies
            .iter()
            .map(|(u, n)| (u.clone(), *n))
            .collect();
        late.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut first_penalty = None;
        for (unit, count) in late.iter().take(8) {
            let penalty_id = PenaltyId::from_uuid(self.uuid());
            first_penalty.get_or_insert((unit.clone(), penalty_id));
            let command = AssessmentCommand::ApplyPenalty {
                penalty_id,
                person: None,
                kind: if *count > 12 {
                    PenaltyKind::PublicCriticism
                } else {
                    PenaltyKind::PointDeduction
                },
                points: (*count).clamp(2, 10),
                reason: text(&format!("全年{count}次未按时反馈舆情")),
                case_ids: Vec::new(),
                period,
            };
            self.handler
                .handle_assessment(Envelope::by(evaluator.clone()), unit, 2026, command)
                .await?;
        }
        let mut rejected: Vec<(UnitId, u32)> = self
            .rejected_returns
            .iter()
            .map(|(u, n)| (u.clone(), *n))
            .collect();
        rejected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some((unit, count)) = rejected.first() {
            let command = AssessmentCommand::ApplyPenalty {
                penalty_id: PenaltyId::from_uuid(self.uuid()),
                person: Some(text("分管副局长")),
                kind: PenaltyKind::Interview,
                points: 3,
                reason: text(&format!("推诿扯皮{count}次,予以约谈")),
                case_ids: Vec::new(),
                period,
            };
            self.handler
                .handle_assessment(Envelope::by(evaluator.clone()), unit, 2026, command)
                .await?;
            let accountability_id = AccountabilityId::from_uuid(self.uuid());
            self.handler
                .handle_assessment(
                    Envelope::by(evaluator.clone()),
                    unit,
                    2026,
                    AssessmentCommand::ReferAccountability {
                        accountability_id,
                        person: text("科室负责人"),
                        case_ids: Vec::new(),
                        reason: text("多次推诿扯皮,移送问责"),
                    },
                )
                .await?;
            self.handler
                .handle_assessment(
                    Envelope::by(inspector.clone()),
                    unit,
                    2026,
                    AssessmentCommand::RecordDisciplinaryDecision {
                        accountability_id,
                        person: text("科室负责人"),
                        case_ids: Vec::new(),
                        decision: text("给予诫勉谈话"),
                    },
                )
                .await?;
        }
        if let Some((unit, case_id)) = self.mass_incident_leads.first().cloned() {
            let command = AssessmentCommand::ApplyPenalty {
                penalty_id: PenaltyId::from_uuid(self.uuid()),
                person: None,
                kind: PenaltyKind::OneVoteVeto,
                points: 0,
                reason: text("处置不力引发群体性事件,年度考核一票否决"),
                case_ids: vec![case_id],
                period,
            };
            self.handler
                .handle_assessment(Envelope::by(evaluator.clone()), &unit, 2026, command)
                .await?;
        }
        if let Some((unit, penalty_id)) = first_penalty {
            self.clock.set(assessed_at + Duration::days(3));
            self.handler
                .handle_assessment(
                    Envelope::by(inspector),
                    &unit,
                    2026,
                    AssessmentCommand::RevokePenalty {
                        penalty_id,
                        reason: text("经复核,部分超时系上级要求延期所致"),
                    },
                )
                .await?;
        }
        let mut reliable: Vec<&DemoUnit> = self
            .units
            .iter()
            .filter(|u| {
                matches!(u.kind, UnitKind::Department) && !self.late_replies.contains_key(&u.id)
            })
            .collect();
        reliable.truncate(5);
        let reliable: Vec<UnitId> = reliable.into_iter().map(|u| u.id.clone()).collect();
        for unit in reliable {
            let command = AssessmentCommand::AwardCommendation {
                commendation_id: CommendationId::from_uuid(self.uuid()),
                points: 2,
                reason: text("全年舆情反馈及时、处置到位"),
                period,
            };
            self.handler
                .handle_assessment(Envelope::by(evaluator.clone()), &unit, 2026, command)
                .await?;
        }
        Ok(())
    }
}
