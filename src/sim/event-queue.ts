/**
 * A binary min-heap of timed events. Ties on time are broken by insertion
 * order, so a seed always replays the same schedule.
 */
export interface Timed {
  readonly atMs: number;
  readonly seq: number;
}

export class EventQueue<T extends Timed> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    const h = this.heap;
    h.push(item);
    // Sift up with a hole: parents move down until the item's place is found.
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = h[parent];
      if (above === undefined || !before(item, above)) break;
      h[i] = above;
      i = parent;
    }
    h[i] = item;
  }

  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[start];
    if (item === undefined) return;
    // Sift down with a hole: the smaller child moves up until the item's place is found.
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      let minItem = item;
      if (l < n) {
        const left = h[l];
        if (left !== undefined && before(left, minItem)) {
          min = l;
          minItem = left;
        }
      }
      if (r < n) {
        const right = h[r];
        if (right !== undefined && before(right, minItem)) {
          min = r;
          minItem = right;
        }
      }
      if (min === i) break;
      h[i] = minItem;
      i = min;
    }
    h[i] = item;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
