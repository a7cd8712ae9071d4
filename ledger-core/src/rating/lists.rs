//! The red and black lists in force: a published year's, with a clerk's additions and removals
//! applied in the order they were recorded. Nothing is deleted: a removal is an entry too.

use serde::Serialize;

use super::score::{ListKind, YearResult};
use crate::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListAction {
    Add,
    Remove,
}

impl ListAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ListAction::Add => "add",
            ListAction::Remove => "remove",
        }
    }

    pub fn parse(text: &str) -> Option<ListAction> {
        match text {
            "add" => Some(ListAction::Add),
            "remove" => Some(ListAction::Remove),
            _ => None,
        }
    }
}

/// A clerk's addition to or removal from a list, with who, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManualEntry {
    pub company: String,
    pub year: i32,
    pub list: ListKind,
    pub action: ListAction,
    pub reason: String,
    pub by: String,
    pub on: Date,
}

/// A company on a list, and the rules (or the clerk's entries) that put it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedCompany {
    pub company: String,
    pub list: ListKind,
    pub rules: Vec<String>,
}

/// The lists of `result`'s year after the manual entries of that year, sorted by company.
pub fn lists_in_force(result: &YearResult, manual: &[ManualEntry]) -> Vec<ListedCompany> {
    let mut listed: Vec<ListedCompany> = result
        .companies
        .iter()
        .filter_map(|c| {
            c.list.map(|list| ListedCompany { company: c.company.clone(), list, rules: c.list_rules.clone() })
        })
        .collect();
    for entry in manual.iter().filter(|e| e.year == result.year) {
        let note = format!("manual_{}:{}（{}，{}）", entry.action.as_str(), entry.reason, entry.by, entry.on);
        let position = listed.iter().position(|l| l.company == entry.company);
        match (entry.action, position) {
            (ListAction::Add, Some(i)) => {
                if listed[i].list != entry.list {
                    listed[i].rules.clear();
                }
                listed[i].list = entry.list;
                listed[i].rules.push(note);
            }
            (ListAction::Add, None) => {
                listed.push(ListedCompany { company: entry.company.clone(), list: entry.list, rules: vec![note] })
            }
            (ListAction::Remove, Some(i)) if listed[i].list == entry.list => {
                listed.remove(i);
            }
            (ListAction::Remove, _) => {}
        }
    }
    listed.sort_by(|a, b| a.company.cmp(&b.company));
    listed
}
