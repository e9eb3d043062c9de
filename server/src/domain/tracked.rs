//! A map that remembers which keys were touched since it was last asked, so the store can
//! write exactly the records a command changed without every command listing them. Every way
//! to change a value goes through `get_mut`, `insert` or `remove`, so none can be missed; a
//! `get_mut` that changes nothing costs only a rewrite of the same record.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Index, RangeBounds};

#[derive(Debug, Clone)]
pub struct Tracked<K: Ord + Clone, V> {
    map: BTreeMap<K, V>,
    touched: BTreeSet<K>,
}

impl<K: Ord + Clone, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Self {
            map: BTreeMap::new(),
            touched: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    /// A map of records as loaded: nothing is touched yet.
    pub fn loaded(records: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            map: records.into_iter().collect(),
            touched: BTreeSet::new(),
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    pub fn range(&self, range: impl RangeBounds<K>) -> impl Iterator<Item = (&K, &V)> {
        self.map.range(range)
    }

    /// The value to change; the key counts as touched.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let value = self.map.get_mut(key)?;
        self.touched.insert(key.clone());
        Some(value)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.touched.insert(key.clone());
        self.map.insert(key, value)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let removed = self.map.remove(key)?;
        self.touched.insert(key.clone());
        Some(removed)
    }

    /// Forgets which keys were touched (nothing keeps the records).
    pub fn forget_touched(&mut self) {
        self.touched.clear();
    }

    /// The keys touched since the last call, each with an owned copy of its value now (`None`
    /// when removed): what the store writes.
    pub fn take_changes(&mut self) -> Vec<(K, Option<V>)>
    where
        V: Clone,
    {
        self.take_touched()
            .into_iter()
            .map(|(key, value)| (key, value.cloned()))
            .collect()
    }

    /// The touched keys with their values now (`None`: removed), and a fresh start.
    pub fn take_touched(&mut self) -> Vec<(K, Option<&V>)> {
        let touched = std::mem::take(&mut self.touched);
        touched
            .into_iter()
            .map(|key| {
                let value = self.map.get(&key);
                (key, value)
            })
            .collect()
    }
}

impl<K: Ord + Clone, V> Index<&K> for Tracked<K, V> {
    type Output = V;

    fn index(&self, key: &K) -> &V {
        &self.map[key]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_is_remembered_once() {
        let mut map = Tracked::loaded([(1, "a"), (2, "b")]);
        assert!(map.take_touched().is_empty(), "loading touches nothing");
        let _ = map.get(&1);
        *map.get_mut(&1).unwrap() = "A";
        *map.get_mut(&1).unwrap() = "AA";
        map.insert(3, "c");
        map.remove(&2);
        map.remove(&9);
        let touched: Vec<_> = map
            .take_touched()
            .into_iter()
            .map(|(k, v)| (k, v.copied()))
            .collect();
        assert_eq!(touched, [(1, Some("AA")), (2, None), (3, Some("c"))]);
        assert!(map.take_touched().is_empty());
    }
}
