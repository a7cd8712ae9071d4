//! Who acts, for which office, and what they may do: one `Actor` and one [`authorize`].
//!
//! Roles are an enum and scopes typed ids, so that no crate compares free text to decide who
//! may do what. The record of every act keeps both the person ([`Actor::user`]) and the office
//! or company they acted for ([`Actor::scope`]).

use std::fmt;

use thiserror::Error;

/// What someone is to mfund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The housing authority's finance clerk: imports, reconciles, pays, records votes.
    Clerk,
    /// A street office (街道办事处): decides its estates' green-channel drawdowns.
    StreetOffice,
    /// A property company (物业公司): applies for drawdowns of the estates it serves.
    PropertyCompany,
    /// Reads everything, writes nothing.
    Auditor,
    /// Manages users and may backfill paper records; never decides for a street office.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Clerk, Role::StreetOffice, Role::PropertyCompany, Role::Auditor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::StreetOffice => "street_office",
            Role::PropertyCompany => "property_company",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A street office, by the name the registry gives it (`estates.csv`'s `street_office`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreetOfficeId(String);

/// A property company, by the name the registry gives it (`estates.csv`'s `property_company`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyId(String);

macro_rules! office_id {
    ($name:ident) => {
        impl $name {
            /// Surrounding spaces are not part of a name: ` 东城街道` is `东城街道`.
            pub fn new(name: &str) -> $name {
                $name(name.trim().to_owned())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
office_id!(StreetOfficeId);
office_id!(CompanyId);

/// Which part of the city an actor acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole city: clerks, auditors, admins.
    City,
    StreetOffice(StreetOfficeId),
    Company(CompanyId),
}

impl Scope {
    /// The office or company as stored beside a record; empty for the city.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::City => "",
            Scope::StreetOffice(office) => office.as_str(),
            Scope::Company(company) => company.as_str(),
        }
    }

    /// The scope a role acts in, from its stored text (empty for the city-wide roles).
    pub fn for_role(role: Role, text: &str) -> Result<Scope, ActorError> {
        let text = text.trim();
        match role {
            Role::StreetOffice | Role::PropertyCompany if text.is_empty() => Err(ActorError::MissingScope(role)),
            Role::StreetOffice => Ok(Scope::StreetOffice(StreetOfficeId::new(text))),
            Role::PropertyCompany => Ok(Scope::Company(CompanyId::new(text))),
            _ if !text.is_empty() => Err(ActorError::UnexpectedScope { role, scope: text.to_owned() }),
            _ => Ok(Scope::City),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ActorError {
    #[error("a {role} acts for one {what}: give its scope", role = .0, what = match .0 { Role::StreetOffice => "street office", _ => "company" })]
    MissingScope(Role),
    #[error("a {role} acts for the whole city; `{scope}` is not a scope it can have")]
    UnexpectedScope { role: Role, scope: String },
    #[error("an actor needs a name")]
    NoName,
}

/// Someone acting: the person, their role, and the office or company they act for. Fields are
/// private: the role and the scope always agree (a street office has its office, a clerk the
/// whole city).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    user: String,
    role: Role,
    scope: Scope,
}

impl Actor {
    pub fn new(user: &str, role: Role, scope: Scope) -> Result<Actor, ActorError> {
        let user = user.trim();
        if user.is_empty() {
            return Err(ActorError::NoName);
        }
        let agrees = matches!(
            (role, &scope),
            (Role::StreetOffice, Scope::StreetOffice(_))
                | (Role::PropertyCompany, Scope::Company(_))
                | (Role::Clerk | Role::Auditor | Role::Admin, Scope::City)
        );
        if !agrees {
            return Err(match scope {
                Scope::City => ActorError::MissingScope(role),
                other => ActorError::UnexpectedScope { role, scope: other.as_str().to_owned() },
            });
        }
        Ok(Actor { user: user.to_owned(), role, scope })
    }

    /// A city-wide actor (clerk, auditor, admin) by name.
    pub fn city(user: &str, role: Role) -> Result<Actor, ActorError> {
        Actor::new(user, role, Scope::City)
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Scope::City => write!(f, "`{}` ({})", self.user, self.role),
            scope => write!(f, "`{}` ({} of {})", self.user, self.role, scope.as_str()),
        }
    }
}

/// What an actor asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Balances, drawdowns, tallies, notices of the target.
    Read,
    /// Import journals and registry files.
    Import,
    /// Reconcile the ledger with the bank's files.
    Reconcile,
    ApplyDrawdown,
    /// Approve, reject or revise a drawdown: the street office of the estate only (SPEC §5).
    DecideDrawdown,
    /// Advance, complete, settle or cancel a drawdown.
    PayDrawdown,
    RecordVote,
    /// Record an act on another day than today (a backfill of paper records).
    Backfill,
    ManageUsers,
    /// Import another system's history, workflow entries included (`mfund import --migration`).
    MigrationImport,
    /// Configure the fund's special bank accounts (`mfund init --bank`, `mfund bank add`).
    ConfigureBank,
    /// Record a registry change (transfer, refund, move: SPEC §10).
    ChangeRegistry,
    /// Record a month's service check of an estate: its own street office only (SPEC §9).
    RecordRatingCheck,
    /// Publish a year's service ratings.
    PublishRatings,
    /// Add a company to or remove it from the red or black list by hand, with a reason.
    EditRatingLists,
    /// Allocate the fund's income to the unit sub-ledgers (SPEC §6).
    Allocate,
}

impl Operation {
    pub const ALL: [Operation; 16] = [
        Operation::Read,
        Operation::Import,
        Operation::Reconcile,
        Operation::ApplyDrawdown,
        Operation::DecideDrawdown,
        Operation::PayDrawdown,
        Operation::RecordVote,
        Operation::Backfill,
        Operation::ManageUsers,
        Operation::MigrationImport,
        Operation::ConfigureBank,
        Operation::ChangeRegistry,
        Operation::RecordRatingCheck,
        Operation::PublishRatings,
        Operation::EditRatingLists,
        Operation::Allocate,
    ];

    fn describe(self) -> &'static str {
        match self {
            Operation::Read => "reading",
            Operation::Import => "importing",
            Operation::Reconcile => "reconciling",
            Operation::ApplyDrawdown => "applying for a drawdown",
            Operation::DecideDrawdown => "deciding on a drawdown",
            Operation::PayDrawdown => "paying or cancelling a drawdown",
            Operation::RecordVote => "recording votes",
            Operation::Backfill => "dating a record other than today",
            Operation::ManageUsers => "managing users",
            Operation::MigrationImport => "a migration import of another system's history",
            Operation::ConfigureBank => "configuring the fund's special bank accounts",
            Operation::ChangeRegistry => "changing the registry",
            Operation::RecordRatingCheck => "recording a service check",
            Operation::PublishRatings => "publishing the service ratings",
            Operation::EditRatingLists => "editing the red and black lists",
            Operation::Allocate => "allocating income to the units",
        }
    }
}

/// An estate's offices, as the registry gives them: whose it is to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateOffices {
    pub estate_id: String,
    pub street_office: StreetOfficeId,
    pub company: CompanyId,
}

/// What an operation is done to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The whole city (or nothing of one estate in particular).
    City,
    Estate(&'a EstateOffices),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{operation} is not for {actor}: {why}", operation = .operation.describe())]
pub struct Denied {
    pub actor: Actor,
    pub operation: Operation,
    pub why: String,
}

/// Decides whether `actor` may do `operation` to `target`. Every check of role and scope in
/// mfund is this function: the API, the CLI and the planners ask it, nobody compares names.
pub fn authorize(actor: &Actor, operation: Operation, target: Target<'_>) -> Result<(), Denied> {
    let deny = |why: String| Err(Denied { actor: actor.clone(), operation, why });
    let roles = |allowed: &[Role]| -> Result<(), Denied> {
        if allowed.contains(&actor.role) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        deny(format!("it needs the role {}", names.join(" or ")))
    };
    match operation {
        Operation::Read => match (&actor.scope, target) {
            (Scope::City, _) => Ok(()),
            (_, Target::City) => deny("a street office or a company reads its own estates only".to_owned()),
            (scope, Target::Estate(estate)) => own_estate(actor, scope, estate).or_else(|why| deny(why)),
        },
        Operation::Import | Operation::PayDrawdown | Operation::RecordVote | Operation::ChangeRegistry => {
            roles(&[Role::Clerk, Role::Admin])
        }
        // Allocation posts to every unit of the city: the authority's clerks, city-wide.
        Operation::Allocate => roles(&[Role::Clerk, Role::Admin]),
        // Reconciling reads the ledger against the bank's files: auditors do it too.
        Operation::Reconcile => roles(&[Role::Clerk, Role::Auditor, Role::Admin]),
        Operation::Backfill
        | Operation::ManageUsers
        | Operation::MigrationImport
        | Operation::ConfigureBank
        | Operation::PublishRatings => roles(&[Role::Admin]),
        Operation::EditRatingLists => roles(&[Role::Clerk]),
        Operation::RecordRatingCheck => match (&actor.scope, target) {
            (Scope::StreetOffice(office), Target::Estate(estate)) if *office == estate.street_office => Ok(()),
            (_, Target::Estate(estate)) => deny(format!(
                "only the estate's street office ({}) checks estate `{}`",
                estate.street_office, estate.estate_id
            )),
            (_, Target::City) => deny("a check is of one estate".to_owned()),
        },
        Operation::ApplyDrawdown => match (actor.role, target) {
            (Role::Clerk | Role::Admin, _) => Ok(()),
            (Role::PropertyCompany, Target::Estate(estate)) => {
                own_estate(actor, &actor.scope, estate).or_else(|why| deny(why))
            }
            (Role::PropertyCompany, Target::City) => deny("a company applies for its own estates only".to_owned()),
            _ => roles(&[Role::Clerk, Role::PropertyCompany, Role::Admin]),
        },
        Operation::DecideDrawdown => match (&actor.scope, target) {
            (Scope::StreetOffice(office), Target::Estate(estate)) if *office == estate.street_office => Ok(()),
            (_, Target::Estate(estate)) => deny(format!(
                "only the estate's street office ({}) decides on a drawdown of estate `{}`",
                estate.street_office, estate.estate_id
            )),
            (_, Target::City) => deny("a decision is about one estate's drawdown".to_owned()),
        },
    }
}

/// Whether a scoped actor's office or company is the estate's.
fn own_estate(actor: &Actor, scope: &Scope, estate: &EstateOffices) -> Result<(), String> {
    let own = match scope {
        Scope::City => true,
        Scope::StreetOffice(office) => *office == estate.street_office,
        Scope::Company(company) => *company == estate.company,
    };
    if own {
        return Ok(());
    }
    let belongs = match scope {
        Scope::Company(_) => format!("served by `{}`", estate.company),
        _ => format!("of `{}`", estate.street_office),
    };
    Err(format!("`{}` acts for `{}`; estate `{}` is {belongs}", actor.user, scope.as_str(), estate.estate_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estate() -> EstateOffices {
        EstateOffices {
            estate_id: "E1".into(),
            street_office: StreetOfficeId::new("东城街道"),
            company: CompanyId::new("绿城物业"),
        }
    }

    /// Every kind of actor there is: each role, and the scoped roles inside and outside the estate.
    fn actors() -> Vec<(&'static str, Actor)> {
        let office = |name: &str| Scope::StreetOffice(StreetOfficeId::new(name));
        let company = |name: &str| Scope::Company(CompanyId::new(name));
        vec![
            ("clerk", Actor::city("王会计", Role::Clerk).unwrap()),
            ("auditor", Actor::city("审计", Role::Auditor).unwrap()),
            ("admin", Actor::city("管理员", Role::Admin).unwrap()),
            ("own office", Actor::new("李主任", Role::StreetOffice, office("东城街道")).unwrap()),
            ("other office", Actor::new("张主任", Role::StreetOffice, office("西城街道")).unwrap()),
            ("own company", Actor::new("物业甲", Role::PropertyCompany, company("绿城物业")).unwrap()),
            ("other company", Actor::new("物业乙", Role::PropertyCompany, company("万科物业")).unwrap()),
        ]
    }

    /// The whole table: every operation for every kind of actor, on the estate and on the city.
    /// `E` allowed on the estate only, `Y` on both, `-` on neither.
    #[test]
    fn authorize_over_every_role_operation_and_scope() {
        #[rustfmt::skip]
        let expected: &[(Operation, [&str; 7])] = &[
            //                          clerk auditor admin ownoff othoff owncomp othcomp
            (Operation::Read,           ["Y", "Y", "Y", "E", "-", "E", "-"]),
            (Operation::Import,         ["Y", "-", "Y", "-", "-", "-", "-"]),
            (Operation::Reconcile,      ["Y", "Y", "Y", "-", "-", "-", "-"]),
            (Operation::ApplyDrawdown,  ["Y", "-", "Y", "-", "-", "E", "-"]),
            (Operation::DecideDrawdown, ["-", "-", "-", "E", "-", "-", "-"]),
            (Operation::PayDrawdown,    ["Y", "-", "Y", "-", "-", "-", "-"]),
            (Operation::RecordVote,     ["Y", "-", "Y", "-", "-", "-", "-"]),
            (Operation::Backfill,       ["-", "-", "Y", "-", "-", "-", "-"]),
            (Operation::ManageUsers,    ["-", "-", "Y", "-", "-", "-", "-"]),
            (Operation::MigrationImport, ["-", "-", "Y", "-", "-", "-", "-"]),
            (Operation::ConfigureBank,  ["-", "-", "Y", "-", "-", "-", "-"]),
            (Operation::ChangeRegistry, ["Y", "-", "Y", "-", "-", "-", "-"]),
            (Operation::RecordRatingCheck, ["-", "-", "-", "E", "-", "-", "-"]),
            (Operation::PublishRatings, ["-", "-", "Y", "-", "-", "-", "-"]),
            (Operation::EditRatingLists, ["Y", "-", "-", "-", "-", "-", "-"]),
            (Operation::Allocate,       ["Y", "-", "Y", "-", "-", "-", "-"]),
        ];
        assert_eq!(expected.len(), Operation::ALL.len(), "every operation is in the table");
        let estate = estate();
        for (operation, row) in expected {
            for ((who, actor), cell) in actors().iter().zip(row) {
                let on_estate = authorize(actor, *operation, Target::Estate(&estate)).is_ok();
                let on_city = authorize(actor, *operation, Target::City).is_ok();
                let found = match (on_estate, on_city) {
                    (true, true) => "Y",
                    (true, false) => "E",
                    (false, false) => "-",
                    (false, true) => "city only",
                };
                assert_eq!(found, *cell, "{operation:?} by {who}");
            }
        }
    }

    #[test]
    fn a_refusal_says_who_what_and_why() {
        let other = &actors()[4].1;
        let denied = authorize(other, Operation::DecideDrawdown, Target::Estate(&estate())).unwrap_err();
        let text = denied.to_string();
        assert!(text.contains("张主任") && text.contains("西城街道") && text.contains("东城街道"), "{text}");
        let clerk = &actors()[0].1;
        let text = authorize(clerk, Operation::ManageUsers, Target::City).unwrap_err().to_string();
        assert!(text.contains("managing users") && text.contains("admin"), "{text}");
    }

    #[test]
    fn role_and_scope_always_agree() {
        let office = Scope::StreetOffice(StreetOfficeId::new("东城街道"));
        assert_eq!(Actor::new("x", Role::StreetOffice, Scope::City), Err(ActorError::MissingScope(Role::StreetOffice)));
        assert!(matches!(Actor::new("x", Role::Clerk, office.clone()), Err(ActorError::UnexpectedScope { .. })));
        assert!(matches!(
            Actor::new("x", Role::PropertyCompany, office.clone()),
            Err(ActorError::UnexpectedScope { .. })
        ));
        assert_eq!(Actor::new("  ", Role::Clerk, Scope::City), Err(ActorError::NoName));
        assert_eq!(Scope::for_role(Role::StreetOffice, " 东城街道 "), Ok(office));
        assert_eq!(Scope::for_role(Role::PropertyCompany, " "), Err(ActorError::MissingScope(Role::PropertyCompany)));
        assert_eq!(Scope::for_role(Role::Clerk, ""), Ok(Scope::City));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}
