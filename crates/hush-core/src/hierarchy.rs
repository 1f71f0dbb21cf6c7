//! Which binding serves a namespace: the tenant default, overridden per namespace subtree.
//!
//! The effective binding of `company.team.etl` is the override on `company.team.etl`, else
//! on `company.team`, else on `company`, else the tenant default (DESIGN.md section 2).
//! The tree is generic over the binding type so this math stays free of I/O.

use std::collections::HashMap;

use crate::ids::{Namespace, TenantId};

/// One tenant's bindings: a default and overrides by namespace.
#[derive(Debug, Clone)]
pub struct TenantBindings<B> {
    /// The tenant default, if any.
    pub default: Option<B>,
    /// Overrides, each inherited by descendant namespaces until a deeper override.
    pub overrides: HashMap<Namespace, B>,
}

impl<B> Default for TenantBindings<B> {
    fn default() -> Self {
        Self { default: None, overrides: HashMap::new() }
    }
}

impl<B> TenantBindings<B> {
    /// The binding that serves `namespace`: the nearest override, else the default.
    pub fn effective(&self, namespace: &Namespace) -> Option<&B> {
        namespace.lineage().find_map(|ns| self.overrides.get(&ns)).or(self.default.as_ref())
    }
}

/// Bindings of every tenant.
#[derive(Debug, Clone)]
pub struct BindingTree<B> {
    tenants: HashMap<TenantId, TenantBindings<B>>,
}

impl<B> Default for BindingTree<B> {
    fn default() -> Self {
        Self { tenants: HashMap::new() }
    }
}

impl<B> BindingTree<B> {
    /// An empty tree: every tenant is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a tenant's bindings.
    pub fn insert_tenant(&mut self, tenant: TenantId, bindings: TenantBindings<B>) {
        self.tenants.insert(tenant, bindings);
    }

    /// Whether the tenant is configured.
    pub fn has_tenant(&self, tenant: &TenantId) -> bool {
        self.tenants.contains_key(tenant)
    }

    /// The binding that serves `namespace` of `tenant`, or `None` when the tenant is
    /// unknown or has neither a default nor a matching override.
    pub fn effective(&self, tenant: &TenantId, namespace: &Namespace) -> Option<&B> {
        self.tenants.get(tenant)?.effective(namespace)
    }

    /// Every tenant with its bindings.
    pub fn tenants(&self) -> impl Iterator<Item = (&TenantId, &TenantBindings<B>)> {
        self.tenants.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> Namespace {
        Namespace::new(s).unwrap()
    }

    #[test]
    fn nearest_override_wins_and_is_inherited() {
        let mut acme = TenantBindings { default: Some("local"), ..Default::default() };
        acme.overrides.insert(ns("company.team"), "vault");
        acme.overrides.insert(ns("company.team.etl.deep"), "aws");
        let mut tree = BindingTree::new();
        let tenant = TenantId::new("acme").unwrap();
        tree.insert_tenant(tenant.clone(), acme);

        assert_eq!(tree.effective(&tenant, &ns("company")), Some(&"local"));
        assert_eq!(tree.effective(&tenant, &ns("company.team")), Some(&"vault"));
        assert_eq!(tree.effective(&tenant, &ns("company.team.etl")), Some(&"vault"));
        assert_eq!(tree.effective(&tenant, &ns("company.team.etl.deep.x")), Some(&"aws"));
        assert_eq!(tree.effective(&tenant, &ns("company.teamwork")), Some(&"local"));
        assert_eq!(tree.effective(&tenant, &ns("other")), Some(&"local"));
    }

    #[test]
    fn unknown_tenant_or_no_default_has_no_binding() {
        let mut tree: BindingTree<&str> = BindingTree::new();
        let only_override = TenantId::new("beta").unwrap();
        let mut b = TenantBindings::default();
        b.overrides.insert(ns("a"), "x");
        tree.insert_tenant(only_override.clone(), b);
        assert_eq!(tree.effective(&TenantId::new("nope").unwrap(), &ns("a")), None);
        assert_eq!(tree.effective(&only_override, &ns("b")), None);
        assert_eq!(tree.effective(&only_override, &ns("a.b")), Some(&"x"));
    }
}
