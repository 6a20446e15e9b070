// A #[global_allocator] of its own: a bump arena that never calls malloc,
// so only Rust's allocator shim sees the program's allocations. Each
// function's numbers are known from the code (the marked lines); black_box
// keeps the optimizer from eliding allocations it could prove unused.
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::hint::black_box;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};

const ARENA: usize = 8 << 20;

struct Bump {
    next: AtomicUsize,
    arena: UnsafeCell<[u8; ARENA]>,
}

unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let base = self.arena.get() as usize;
        let mut cur = self.next.load(Ordering::Relaxed);
        loop {
            let start = (base + cur + l.align() - 1) & !(l.align() - 1);
            let end = start - base + l.size();
            if end > ARENA {
                return null_mut();
            }
            match self.next.compare_exchange(cur, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return start as *mut u8,
                Err(now) => cur = now,
            }
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump { next: AtomicUsize::new(0), arena: UnsafeCell::new([0; ARENA]) };

#[inline(never)]
fn boxes(n: usize) -> u64 {
    let mut v = black_box(Vec::with_capacity(n)); // site: 8000 1 0 0
    for i in 0..n {
        v.push(black_box(Box::new([i as u64; 4]))); // site: 32000 1000 0 0
    }
    v.iter().map(|b| b[3]).sum()
}

#[inline(never)]
fn strings(n: usize) -> usize {
    let mut total = 0;
    for i in 0..n {
        let mut s = black_box(String::with_capacity(100)); // site: 2000 20 0 0
        s.push(char::from(b'a' + i as u8));
        total += s.len();
    }
    total
}

#[inline(never)]
fn zeroed() -> usize {
    let v = black_box(vec![0u8; 500]); // site: 500 1 0 0
    v.iter().filter(|&&b| b == 0).count()
}

#[inline(never)]
fn aligned() -> usize {
    unsafe {
        let l = Layout::from_size_align(64, 4096).unwrap();
        let p = black_box(std::alloc::alloc(l)); // site: 64 1 0 0
        let at = p as usize;
        std::alloc::dealloc(p, l);
        at % 4096
    }
}

#[inline(never)]
fn leak() -> usize {
    black_box(Box::leak(vec![7u8; 1000].into_boxed_slice())).len() // site: 1000 1 1000 1
}

fn main() {
    let sum = boxes(1000) as usize + strings(20) + zeroed() + aligned() + leak();
    std::process::exit(if sum == 499500 * 1 + 20 + 500 + 0 + 1000 { 0 } else { 1 });
}
