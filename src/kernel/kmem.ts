import { gfpName, KBuffer, kmalloc, nextAllocId } from './alloc.ts';
import { Access, MemLoc } from './hb.ts';
import type { AccessKind } from './hb.ts';
import type { Kernel } from './kernel.ts';
import { LockdepMap } from './lockdep-map.ts';
import type { Thread } from './thread.ts';

/*
 * Instrumented memory: driver state that the race detector and KASAN watch.
 * A scenario declares its driver's structs and globals with `kstruct`,
 * `kmallocStruct` and `KCell`; its code then reads as the kernel code does:
 *
 *   ring.seqno = ring.seqno + 1;              // plain read and write
 *   writeOnce(ring, 'seqno', n);              // WRITE_ONCE(ring->seqno, n)
 *   const s = readOnce(ring, 'seqno');        // READ_ONCE(ring->seqno)
 *   atomicInc(ring, 'pending');               // atomic_inc(&ring->pending)
 *   smpStoreRelease(ring, 'done', 1);         // smp_store_release(&ring->done, 1)
 *   kfree(k, ring);                           // poisons every field
 *
 * Accesses are recorded only inside simulated threads. Scenario setup
 * (before `Kernel.run`) may read and write fields freely: that is the
 * object's initialisation, before anything else can see it. Anywhere else
 * outside a thread, or after the run, an access is a library misuse error;
 * `snapshot()` / `snapshotOf()` read a value for tests and reports without
 * counting as an access.
 */

/**
 * The thread an access is made by, null during setup (initialisation, not
 * recorded); throws the misuse errors.
 */
function accessor(k: Kernel, name: string): Thread | null {
  const t = k.currentOrNull;
  if (t !== null) return t;
  if (k.inSetup) return null;
  if (k.ended) {
    throw new Error(
      `${name} used after its kernel's run ended: driver state belongs to the run that created it. ` +
        'Read it with snapshot() / snapshotOf() in tests, or create new state for the next run.',
    );
  }
  // Inside a run but not in a thread (a missing await, a raw timer callback): the kernel says which.
  try {
    return k.current;
  } catch (e) {
    throw new Error(
      `${name} accessed outside a simulated thread: driver state is read and written by kernel threads. ` +
        'Access it from a thread body (kthreadRun, a work item, an IRQ handler), or read it with snapshot() / snapshotOf(). ' +
        (e instanceof Error ? e.message : String(e)),
      { cause: e },
    );
  }
}

function record(k: Kernel, name: string, loc: MemLoc, kind: AccessKind, fn: string | null): void {
  const t = accessor(k, name);
  if (t !== null && k.hb !== null) k.hb.access(t, loc, kind, fn);
}

/** One field's storage, location and kernel (one object per field: accesses allocate nothing). */
interface Field {
  value: unknown;
  readonly loc: MemLoc;
  readonly k: Kernel;
}

/** Kernel objects that live inside a struct (locks, completions, list heads, ...): not plain fields. */
function isEmbedded(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof KListHead) return true;
  if ((v as { dep?: unknown }).dep instanceof LockdepMap) return true;
  const ctor = (v as { constructor?: { name?: string } }).constructor?.name ?? '';
  return EMBEDDED.has(ctor);
}

/** Constructors of kernel objects that are embedded in C structs rather than pointed to. */
const EMBEDDED = new Set(['Completion', 'WaitQueueHead', 'WorkStruct', 'DelayedWork', 'TimerList', 'HrTimer', 'IrqWork', 'RcuHead', 'Kref']);

const FIELDS: unique symbol = Symbol('kstruct.fields');

/**
 * A driver struct whose plain fields are instrumented: reading a field is a
 * plain read, assigning it a plain write. Locks and other embedded kernel
 * objects given as field values stay what they are (read-only properties;
 * they synchronise, they are not data). It is a `KBuffer`: `kfree` frees it.
 *
 * @kernel a kmalloc'ed struct, as KCSAN and KASAN see it
 */
export type KStruct<T extends object> = KBuffer & T & { readonly [FIELDS]: Map<string, Field> };

class KStructImpl extends KBuffer {
  readonly [FIELDS] = new Map<string, Field>();
  /** The locks embedded in this struct (for `held lock freed!` and poisoning). */
  readonly embeddedLocks: { dep: LockdepMap }[] = [];

  constructor(
    readonly kernel: Kernel,
    /** Instance name used in reports: `ring` gives `ring->seqno`. */
    readonly varName: string,
    readonly type: string,
    fields: Record<string, unknown>,
    id: number,
    size: number,
    gfp: number,
    site: string,
  ) {
    super(id, size, gfp, site);
    const k = kernel;
    for (const [name, init] of Object.entries(fields)) {
      if (isEmbedded(init)) {
        if (init instanceof KListHead) init.bind(k, `${varName}->${name}`, this);
        if ((init as { dep?: unknown }).dep instanceof LockdepMap) this.embeddedLocks.push(init as { dep: LockdepMap });
        Object.defineProperty(this, name, { value: init, enumerable: true, writable: false });
        continue;
      }
      const f: Field = { value: init, loc: new MemLoc(`${varName}->${name}`, this, 8), k };
      this[FIELDS].set(name, f);
      Object.defineProperty(this, name, {
        enumerable: true,
        get(): unknown {
          record(k, f.loc.name, f.loc, Access.READ, null);
          return f.value;
        },
        set(v: unknown) {
          record(k, f.loc.name, f.loc, Access.WRITE, null);
          f.value = v;
        },
      });
    }
  }
}

function structName(type: string): string {
  return type.replace(/^struct\s+/, '');
}

function register(k: Kernel, s: KStructImpl): void {
  k.hb?.alloc(s, { what: `struct ${structName(s.type)} (${s.varName})`, size: s.size, fn: s.site, locks: s.embeddedLocks });
}

/**
 * A driver struct that exists for the whole run (allocated at probe, or a
 * static variable): never fails, may be created in setup or in a thread.
 * `kfree` still frees it (poisoning it).
 *
 * @kernel a struct allocated with devm_kzalloc at probe, or a static one
 */
export function kstruct<T extends Record<string, unknown>>(
  k: Kernel,
  type: string,
  fields: T,
  opts: { name?: string } = {},
): KStruct<T> {
  const name = opts.name ?? structName(type);
  const s = new KStructImpl(k, name, type, fields, nextAllocId(k), 8 * Math.max(1, Object.keys(fields).length), 0, `kstruct(${structName(type)})`);
  register(k, s);
  return s as unknown as KStruct<T>;
}

/**
 * `kmalloc(sizeof(struct), gfp)` of a driver struct in a thread: the
 * allocation rules of `kmalloc` apply (might_sleep and reclaim for blocking
 * GFP flags, fault injection). Null when the allocation fails.
 *
 * @kernel kmalloc, kzalloc of a driver struct
 */
export function kmallocStruct<T extends Record<string, unknown>>(
  k: Kernel,
  type: string,
  fields: T,
  gfp: number,
  opts: { name?: string } = {},
): KStruct<T> | null {
  const size = 8 * Math.max(1, Object.keys(fields).length);
  const site = `kmalloc(struct ${structName(type)}, ${gfpName(gfp)})`;
  const raw = kmalloc(k, size, gfp, site);
  if (raw === null) return null;
  // The raw buffer stands for the allocation decision; the struct is the object the driver uses and frees.
  const s = new KStructImpl(k, opts.name ?? structName(type), type, fields, raw.id, size, gfp, site);
  register(k, s);
  return s as unknown as KStruct<T>;
}

function fieldOf(s: object, name: string): Field {
  const f = (s as { [FIELDS]?: Map<string, Field> })[FIELDS]?.get(name);
  if (f === undefined) {
    throw new Error(`"${name}" is not a plain field of this struct: marked accesses take a struct from kstruct()/kmallocStruct() and one of its data fields`);
  }
  return f;
}

/**
 * A global instrumented variable (`static int x;`), or one cell of driver
 * state: `value` is a plain access; the marked and atomic functions below
 * take it too.
 *
 * @kernel a static variable, as KCSAN sees it
 */
export class KCell<T> {
  /** @internal storage and location. */
  readonly f: Field;

  constructor(
    readonly kernel: Kernel,
    name: string,
    init: T,
  ) {
    this.f = { value: init, loc: new MemLoc(name, null, 8), k: kernel };
  }

  /** The instrumented location. */
  get loc(): MemLoc {
    return this.f.loc;
  }

  /** Plain read. */
  get value(): T {
    const f = this.f;
    record(f.k, f.loc.name, f.loc, Access.READ, null);
    return f.value as T;
  }

  /** Plain write. */
  set value(v: T) {
    const f = this.f;
    record(f.k, f.loc.name, f.loc, Access.WRITE, null);
    f.value = v;
  }

  /** The value, without counting as an access; callable anywhere (tests, reports). */
  snapshot(): T {
    return this.f.value as T;
  }
}

type Target = KCell<unknown> | object;

function slot(target: Target, field: string | undefined): Field {
  if (target instanceof KCell) return target.f;
  if (field === undefined) throw new Error('a marked access to a struct needs the field name: readOnce(ring, "seqno")');
  return fieldOf(target, field);
}

/** The thread of the last `op` (null during setup); saves an allocation per access. */
let opThread: Thread | null = null;

function op(target: Target, field: string | undefined, kind: AccessKind, fn: string): Field {
  const f = slot(target, field);
  const t = accessor(f.k, f.loc.name);
  opThread = t;
  if (t !== null && f.k.hb !== null) f.k.hb.access(t, f.loc, kind, fn);
  return f;
}

/** Field value type of `K` in struct `S`. */
type F<S, K extends keyof S> = S[K];

/**
 * `READ_ONCE(x)` of a cell, or `READ_ONCE(s->field)`: a marked read.
 *
 * @kernel READ_ONCE (include/asm-generic/rwonce.h)
 */
export function readOnce<T>(cell: KCell<T>): T;
export function readOnce<S extends object, K extends keyof S & string>(s: S, field: K): F<S, K>;
export function readOnce(target: Target, field?: string): unknown {
  return op(target, field, Access.READ_ONCE, 'READ_ONCE').value;
}

/**
 * `WRITE_ONCE(x, v)`: a marked write.
 *
 * @kernel WRITE_ONCE (include/asm-generic/rwonce.h)
 */
export function writeOnce<T>(cell: KCell<T>, v: T): void;
export function writeOnce<S extends object, K extends keyof S & string>(s: S, field: K, v: F<S, K>): void;
export function writeOnce(target: Target, a: unknown, b?: unknown): void {
  if (target instanceof KCell) op(target, undefined, Access.WRITE_ONCE, 'WRITE_ONCE').value = a;
  else op(target, a as string, Access.WRITE_ONCE, 'WRITE_ONCE').value = b;
}

/**
 * `atomic_read`: a marked read.
 *
 * @kernel atomic_read (Documentation/atomic_t.txt)
 */
export function atomicRead(cell: KCell<number>): number;
export function atomicRead<S extends object, K extends keyof S & string>(s: S, field: K): number;
export function atomicRead(target: Target, field?: string): number {
  return op(target, field, Access.READ_ONCE, 'atomic_read').value as number;
}

/**
 * `atomic_set`: a marked write.
 *
 * @kernel atomic_set
 */
export function atomicSet(cell: KCell<number>, v: number): void;
export function atomicSet<S extends object, K extends keyof S & string>(s: S, field: K, v: number): void;
export function atomicSet(target: Target, a: unknown, b?: unknown): void {
  if (target instanceof KCell) op(target, undefined, Access.WRITE_ONCE, 'atomic_set').value = a;
  else op(target, a as string, Access.WRITE_ONCE, 'atomic_set').value = b;
}

/**
 * A fully ordered atomic read-modify-write (the `atomic_*_return`,
 * `cmpxchg`, `xchg` family): a marked access that is also an acquire and a
 * release of the location, as `Documentation/atomic_t.txt` specifies for
 * value-returning RMW operations.
 */
function rmwOrdered<T>(target: Target, field: string | undefined, fn: string, f: (old: unknown) => { next: unknown; ret: T }): T {
  const s = op(target, field, Access.ATOMIC_RMW, fn);
  const t = opThread;
  const k = s.k;
  if (t !== null) k.hb?.acquire(t, s.loc);
  const r = f(s.value);
  s.value = r.next;
  if (t !== null) k.hb?.release(t, s.loc);
  return r.ret;
}

/**
 * `atomic_inc` (relaxed: no ordering, a marked access).
 *
 * @kernel atomic_inc
 */
export function atomicInc(cell: KCell<number>): void;
export function atomicInc<S extends object, K extends keyof S & string>(s: S, field: K): void;
export function atomicInc(target: Target, field?: string): void {
  const s = op(target, field, Access.ATOMIC_RMW, 'atomic_inc');
  s.value = (s.value as number) + 1;
}

/**
 * `atomic_dec` (relaxed).
 *
 * @kernel atomic_dec
 */
export function atomicDec(cell: KCell<number>): void;
export function atomicDec<S extends object, K extends keyof S & string>(s: S, field: K): void;
export function atomicDec(target: Target, field?: string): void {
  const s = op(target, field, Access.ATOMIC_RMW, 'atomic_dec');
  s.value = (s.value as number) - 1;
}

/**
 * `atomic_add_return` (fully ordered): the new value.
 *
 * @kernel atomic_add_return
 */
export function atomicAddReturn(cell: KCell<number>, n: number): number;
export function atomicAddReturn<S extends object, K extends keyof S & string>(s: S, field: K, n: number): number;
export function atomicAddReturn(target: Target, a: unknown, b?: unknown): number {
  const [field, n] = target instanceof KCell ? [undefined, a as number] : [a as string, b as number];
  return rmwOrdered(target, field, 'atomic_add_return', (old) => {
    const v = (old as number) + n;
    return { next: v, ret: v };
  });
}

/**
 * `atomic_dec_and_test` (fully ordered): true when the new value is 0.
 *
 * @kernel atomic_dec_and_test
 */
export function atomicDecAndTest(cell: KCell<number>): boolean;
export function atomicDecAndTest<S extends object, K extends keyof S & string>(s: S, field: K): boolean;
export function atomicDecAndTest(target: Target, field?: string): boolean {
  return rmwOrdered(target, field, 'atomic_dec_and_test', (old) => {
    const v = (old as number) - 1;
    return { next: v, ret: v === 0 };
  });
}

/**
 * `cmpxchg(ptr, old, new)` (fully ordered): the previous value; stores `next` only if it equalled `expected`.
 *
 * @kernel cmpxchg
 */
export function atomicCmpxchg<T>(cell: KCell<T>, expected: T, next: T): T;
export function atomicCmpxchg<S extends object, K extends keyof S & string>(s: S, field: K, expected: F<S, K>, next: F<S, K>): F<S, K>;
export function atomicCmpxchg(target: Target, a: unknown, b: unknown, c?: unknown): unknown {
  const [field, expected, next] = target instanceof KCell ? [undefined, a, b] : [a as string, b, c];
  return rmwOrdered(target, field, 'cmpxchg', (old) => ({ next: old === expected ? next : old, ret: old }));
}

/**
 * `xchg(ptr, new)` (fully ordered): the previous value.
 *
 * @kernel xchg
 */
export function atomicXchg<T>(cell: KCell<T>, next: T): T;
export function atomicXchg<S extends object, K extends keyof S & string>(s: S, field: K, next: F<S, K>): F<S, K>;
export function atomicXchg(target: Target, a: unknown, b?: unknown): unknown {
  const [field, next] = target instanceof KCell ? [undefined, a] : [a as string, b];
  return rmwOrdered(target, field, 'xchg', (old) => ({ next, ret: old }));
}

/**
 * `smp_store_release(&x, v)`: a marked write that publishes everything before it.
 *
 * @kernel smp_store_release (Documentation/memory-barriers.txt)
 */
export function smpStoreRelease<T>(cell: KCell<T>, v: T): void;
export function smpStoreRelease<S extends object, K extends keyof S & string>(s: S, field: K, v: F<S, K>): void;
export function smpStoreRelease(target: Target, a: unknown, b?: unknown): void {
  const [field, v] = target instanceof KCell ? [undefined, a] : [a as string, b];
  const s = slot(target, field);
  const t = accessor(s.k, s.loc.name);
  if (t !== null && s.k.hb !== null) {
    s.k.hb.release(t, s.loc);
    s.k.hb.access(t, s.loc, Access.WRITE_ONCE, 'smp_store_release');
  }
  s.value = v;
}

/**
 * `smp_load_acquire(&x)`: a marked read after which everything published by the matching release is visible.
 *
 * @kernel smp_load_acquire (Documentation/memory-barriers.txt)
 */
export function smpLoadAcquire<T>(cell: KCell<T>): T;
export function smpLoadAcquire<S extends object, K extends keyof S & string>(s: S, field: K): F<S, K>;
export function smpLoadAcquire(target: Target, field?: string): unknown {
  const s = op(target, field, Access.READ_ONCE, 'smp_load_acquire');
  const t = opThread;
  if (t !== null) s.k.hb?.acquire(t, s.loc);
  return s.value;
}

/**
 * A field's value without counting as an access; callable anywhere (tests,
 * reports). A model extension: the kernel has no counterpart.
 *
 * @kernel none (see above)
 */
export function snapshotOf<S extends object, K extends keyof S & string>(s: S, field: K): F<S, K> {
  return fieldOf(s, field).value as F<S, K>;
}

/**
 * `struct list_head` with instrumented accesses: adding and deleting are
 * plain writes of the list, walking it and `list_empty` plain reads (one per
 * step of a walk). Embedded in a `kstruct` (pass `new KListHead()` as a
 * field value), or standalone with a kernel and a name.
 *
 * @kernel struct list_head, list_add_tail, list_del, list_for_each_entry, list_empty (include/linux/list.h)
 */
export class KListHead<T> {
  private k: Kernel | null;
  private loc: MemLoc;
  private readonly items: T[] = [];

  constructor(kernel: Kernel | null = null, name = 'list') {
    this.k = kernel;
    this.loc = new MemLoc(name, null, 16);
  }

  /** @internal called by `kstruct` for an embedded head. */
  bind(k: Kernel, name: string, owner: object): void {
    this.k = k;
    this.loc = new MemLoc(name, owner, 16);
  }

  private touch(kind: AccessKind, fn: string): void {
    const k = this.k;
    if (k === null) throw new Error('KListHead used before it was embedded in a kstruct or given a kernel: new KListHead(k, "name")');
    record(k, this.loc.name, this.loc, kind, fn);
  }

  /** `list_add_tail(item, head)`. */
  addTail(item: T): void {
    this.touch(Access.WRITE, 'list_add_tail');
    this.items.push(item);
  }

  /** `list_add(item, head)`. */
  add(item: T): void {
    this.touch(Access.WRITE, 'list_add');
    this.items.unshift(item);
  }

  /** `list_del(&item->link)`: false (nothing done) if `item` is not on the list. */
  del(item: T): boolean {
    this.touch(Access.WRITE, 'list_del');
    const i = this.items.indexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** `list_empty(head)`. */
  empty(): boolean {
    this.touch(Access.READ, 'list_empty');
    return this.items.length === 0;
  }

  /** `list_first_entry_or_null(head)`. */
  first(): T | null {
    this.touch(Access.READ, 'list_first_entry_or_null');
    return this.items[0] ?? null;
  }

  /**
   * `list_for_each_entry_safe(pos, n, head)`: every entry, each step a plain
   * read of the list; the entries are taken as the walk reaches them, so the
   * body may delete the current one.
   */
  *entries(): Generator<T> {
    let i = 0;
    for (;;) {
      this.touch(Access.READ, 'list_for_each_entry');
      const item = this.items[i];
      if (item === undefined) return;
      yield item;
      if (this.items[i] === item) i++;
    }
  }

  /** The entries, without counting as an access (tests, reports). */
  snapshot(): readonly T[] {
    return [...this.items];
  }
}
