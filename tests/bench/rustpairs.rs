// SPDX-License-Identifier: GPL-2.0
//! N Box allocations and drops from one call site, on the System
//! allocator, or (built with `--cfg arena`) on a #[global_allocator] of
//! the program's own that never calls malloc: its calls are seen only at
//! Rust's allocator shim.
use std::hint::black_box;

#[cfg(arena)]
mod arena {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;

    const SLOTS: usize = 64;
    const SLOT: usize = 256;

    /// A ring of fixed slots, enough for a loop that frees what it
    /// allocates before the next allocation; bigger blocks from System.
    pub struct Ring {
        mem: UnsafeCell<[[u8; SLOT]; SLOTS]>,
        next: UnsafeCell<usize>,
    }

    unsafe impl Sync for Ring {}

    impl Ring {
        pub const fn new() -> Self {
            Ring { mem: UnsafeCell::new([[0; SLOT]; SLOTS]), next: UnsafeCell::new(0) }
        }
    }

    unsafe impl GlobalAlloc for Ring {
        #[inline(never)]
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            if l.size() > SLOT || l.align() > 16 {
                return System.alloc(l);
            }
            let n = &mut *self.next.get();
            *n = (*n + 1) % SLOTS;
            (*self.mem.get())[*n].as_mut_ptr()
        }
        #[inline(never)]
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            if l.size() > SLOT || l.align() > 16 {
                System.dealloc(p, l);
            }
        }
    }
}

#[cfg(arena)]
#[global_allocator]
static RING: arena::Ring = arena::Ring::new();

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100000);
    for i in 0..n {
        let b = black_box(vec![0u8; 64 + (i & 63)]);
        drop(b);
    }
}
