// Allocations the Rust way: Vec growth, String formatting, a HashMap, a
// BTreeMap, Box, Rc, a trait object and a deliberate leak. Deterministic.
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

trait Shape {
    fn area(&self) -> u64;
}

struct Square(u64);

impl Shape for Square {
    fn area(&self) -> u64 {
        self.0 * self.0
    }
}

#[inline(never)]
fn words(n: usize) -> HashMap<String, Vec<u32>> {
    let mut m = HashMap::new();
    for i in 0..n {
        m.entry(format!("key-{}", i % 97))
            .or_insert_with(Vec::new)
            .push(i as u32);
    }
    m
}

#[inline(never)]
fn tree(n: u64) -> BTreeMap<u64, Box<[u8]>> {
    (0..n).map(|i| (i, vec![i as u8; (i % 50) as usize + 1].into_boxed_slice())).collect()
}

#[inline(never)]
fn shapes(n: u64) -> Vec<Box<dyn Shape>> {
    (1..=n).map(|i| Box::new(Square(i)) as Box<dyn Shape>).collect()
}

fn main() {
    let m = words(3000);
    let t = tree(500);
    let s = shapes(200);
    let shared = Rc::new(vec![0u64; 1000]);
    let copies: Vec<Rc<Vec<u64>>> = (0..10).map(|_| Rc::clone(&shared)).collect();
    std::mem::forget(Box::new([1u32; 64]));
    let area: u64 = s.iter().map(|x| x.area()).sum();
    let total = m.len() + t.len() + copies.len() + area as usize;
    std::process::exit(if total > 0 { 0 } else { 1 });
}
