//! The registry's estates as the rest of the store asks about them: whose an estate, a building
//! or a unit is, for deciding who may read or act on it.

use ledger_core::actor::EstateOffices;

use crate::query::BalanceScope;
use crate::{Store, StoreError};

impl Store {
    /// The estate a unit, building or estate belongs to, with its offices; `None` when it is not
    /// registered (or the scope is the whole city).
    pub async fn estate_of(&self, scope: &BalanceScope) -> Result<Option<EstateOffices>, StoreError> {
        let (sql, id) = match scope {
            BalanceScope::City => return Ok(None),
            BalanceScope::Estate(id) => return self.estate_offices(id).await,
            BalanceScope::Building(id) => ("SELECT estate_id FROM buildings WHERE building_id = $1", id),
            BalanceScope::Unit(id) => (
                "SELECT b.estate_id FROM units u JOIN buildings b ON b.building_id = u.building_id WHERE u.unit_id = $1",
                id,
            ),
        };
        let estate_id: Option<String> = crate::dispatch!(Pool, &self.pool, |p| {
            sqlx::query_scalar(sql).bind(id.as_str()).fetch_optional(p).await?
        });
        match estate_id {
            Some(estate_id) => self.estate_offices(&estate_id).await,
            None => Ok(None),
        }
    }
}
