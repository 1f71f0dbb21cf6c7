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
        // Borrowed levels: this runs for every name of every read.
        if self.overrides.is_empty() {
            return self.default.as_ref();
        }
        namespace.lineage_str().find_map(|ns| self.overrides.get(ns)).or(self.default.as_ref())
    }

    /// What a recursive list of `namespace` reads: `namespace` with its effective binding,
    /// then every override strictly below it with its own, as `(root, binding)`. A secret found
    /// under a root belongs to that root's listing only when [`served_from`](Self::served_from)
    /// says so, so an override's read-only flag and tag filter apply to a recursive list as to
    /// a direct one.
    pub fn subtree(&self, namespace: &Namespace) -> Vec<(Namespace, &B)> {
        let mut roots: Vec<(Namespace, &B)> =
            self.effective(namespace).map(|b| (namespace.clone(), b)).into_iter().collect();
        let mut below: Vec<(&Namespace, &B)> =
            self.overrides.iter().filter(|(ns, _)| *ns != namespace && namespace.is_self_or_ancestor_of(ns)).collect();
        below.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        roots.extend(below.into_iter().map(|(ns, b)| (ns.clone(), b)));
        roots
    }

    /// Whether `candidate` is served from the listing root `root`: it is `root` or below it,
    /// and no override lies strictly below `root` on its way down to `candidate`.
    pub fn served_from(&self, root: &Namespace, candidate: &Namespace) -> bool {
        root.is_self_or_ancestor_of(candidate)
            && candidate.lineage().take_while(|ns| ns != root).all(|ns| !self.overrides.contains_key(&ns))
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

    /// One tenant's bindings.
    pub fn tenant(&self, tenant: &TenantId) -> Option<&TenantBindings<B>> {
        self.tenants.get(tenant)
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
    fn a_recursive_list_reads_each_subtree_through_its_own_binding() {
        let mut acme = TenantBindings { default: Some("local"), ..Default::default() };
        acme.overrides.insert(ns("company.payments"), "filtered");
        acme.overrides.insert(ns("company.payments.eu.deep"), "aws");
        acme.overrides.insert(ns("other"), "vault");
        let roots = acme.subtree(&ns("company"));
        assert_eq!(
            roots,
            vec![
                (ns("company"), &"local"),
                (ns("company.payments"), &"filtered"),
                (ns("company.payments.eu.deep"), &"aws")
            ]
        );
        let roots = acme.subtree(&ns("company.payments.eu"));
        assert_eq!(roots, vec![(ns("company.payments.eu"), &"filtered"), (ns("company.payments.eu.deep"), &"aws")]);

        assert!(acme.served_from(&ns("company"), &ns("company")));
        assert!(acme.served_from(&ns("company"), &ns("company.team.etl")));
        assert!(!acme.served_from(&ns("company"), &ns("company.payments")));
        assert!(!acme.served_from(&ns("company"), &ns("company.payments.eu")));
        assert!(acme.served_from(&ns("company.payments"), &ns("company.payments.eu")));
        assert!(!acme.served_from(&ns("company.payments"), &ns("company.payments.eu.deep.x")));
        assert!(acme.served_from(&ns("company.payments.eu.deep"), &ns("company.payments.eu.deep.x")));
        assert!(!acme.served_from(&ns("company"), &ns("other")));
        // A listing root inside an override subtree is served from itself.
        assert!(acme.served_from(&ns("company.payments.eu"), &ns("company.payments.eu.x")));
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
