//! Pages of ordered collections: items after a cursor, and the cursor of the next page.

use std::ops::Bound;

use crate::domain::tracked::Tracked;

/// One page of a list.
#[derive(Debug)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    /// The key of the last item when more items follow; `None` on the last page.
    pub next: Option<K>,
}

/// Up to `limit` items of `entries` (already positioned after the cursor), and whether more
/// follow.
pub fn collect<K, T>(entries: impl Iterator<Item = (K, T)>, limit: usize) -> Page<T, K> {
    let mut items = Vec::new();
    let mut last = None;
    let mut entries = entries.peekable();
    while items.len() < limit {
        let Some((key, item)) = entries.next() else {
            break;
        };
        last = Some(key);
        items.push(item);
    }
    let next = if entries.peek().is_some() { last } else { None };
    Page { items, next }
}

/// The entries of `map` after `after` that `keep` accepts, one page of them.
pub fn page<K: Ord + Copy, V>(
    map: &Tracked<K, V>,
    after: Option<K>,
    limit: usize,
    keep: impl Fn(&V) -> bool,
) -> Page<&V, K> {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    collect(
        map.range((start, Bound::Unbounded))
            .filter(|(_, value)| keep(value))
            .map(|(key, value)| (*key, value)),
        limit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        let map = Tracked::loaded((0..10).map(|i| (i, i)));
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = page(&map, after, 3, |v| v % 2 == 0);
            seen.extend(page.items.iter().map(|v| **v));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, [0, 2, 4, 6, 8]);
    }

    #[test]
    fn a_full_last_page_has_no_next() {
        let map = Tracked::loaded((0..3).map(|i| (i, i)));
        assert!(page(&map, None, 3, |_| true).next.is_none());
        assert_eq!(page(&map, None, 2, |_| true).next, Some(1));
    }
}
