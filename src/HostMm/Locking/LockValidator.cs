using System.Diagnostics;

namespace Testbed.HostMm.Locking;

/// <summary>
/// A lock-order validator in the spirit of lockdep (kernel/locking/lockdep.c). Every acquisition
/// of a model lock while other model locks are held records a dependency "held -&gt; acquired"
/// between their classes; the first acquisition that closes a cycle in that graph, or takes a
/// class the thread already holds, produces a <see cref="LockdepReport"/> naming both acquisition
/// sites. As in the kernel, the validator reports once and then stops checking (a second report
/// is usually a consequence of the first).
/// </summary>
/// <remarks>
/// Stacks are captured only when a new dependency is recorded, so a validated run pays for a stack
/// walk once per distinct lock pair, not per acquisition. Folio locks are not validated: like
/// <c>PG_locked</c>, a bit lock that lockdep cannot see, they may be released by another thread.
/// Turn the validator off (<see cref="Enabled"/>) for benchmarks; tests keep it on.
/// </remarks>
public sealed class LockValidator
{
    private readonly object _graphLock = new(); // a Monitor, so that Coyote controls it (see MmLock)
    private readonly Dictionary<long, (StackTrace Stack, AcquireSite Site)> _edges = [];
    private readonly Dictionary<int, List<int>> _successors = [];
    private readonly bool _tracking;
    private volatile LockdepReport? _report;

    [ThreadStatic] private static List<HeldLock>? t_held;

    /// <summary>Creates a validator; <paramref name="enabled"/> turns checking on.</summary>
    public LockValidator(bool enabled) => Enabled = _tracking = enabled;

    /// <summary>Whether acquisitions are checked. Off after the first report.</summary>
    public bool Enabled { get; private set; }

    /// <summary>The first report, or null while every recorded order is consistent.</summary>
    public LockdepReport? Report => _report;

    /// <summary>How many distinct class dependencies have been recorded.</summary>
    public int DependencyCount
    {
        get
        {
            lock (_graphLock)
            {
                return _edges.Count;
            }
        }
    }

    /// <summary>
    /// Records that the calling thread is about to take <paramref name="instance"/> of
    /// <paramref name="cls"/>, checking the order against every lock the thread holds.
    /// </summary>
    public void Acquire(LockClass cls, int subclass, object instance, AcquireSite site = default)
    {
        if (!Enabled)
        {
            return;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(subclass);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(subclass, 7);
        var key = (cls.Id << 3) | subclass;
        var held = t_held ??= [];
        foreach (var h in held)
        {
            if (h.Validator != this)
            {
                continue;
            }

            if (h.Key == key)
            {
                Fail(new LockdepReport(LockdepReportKind.RecursiveAcquisition, h.Name, Name(cls, subclass), new StackTrace(1, true), null, h.Site, site, default));
                break;
            }

            if (!AddDependency(h, key, Name(cls, subclass), site))
            {
                break;
            }
        }

        held.Add(new HeldLock(this, key, Name(cls, subclass), instance, site));
    }

    /// <summary>
    /// Records that the calling thread took <paramref name="instance"/> with a trylock: a trylock
    /// cannot deadlock, so, as in lockdep, it adds no dependency on the locks already held, but locks
    /// taken while it is held depend on it.
    /// </summary>
    public void TryAcquired(LockClass cls, int subclass, object instance, AcquireSite site = default)
    {
        if (!Enabled)
        {
            return;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(subclass);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(subclass, 7);
        (t_held ??= []).Add(new HeldLock(this, (cls.Id << 3) | subclass, Name(cls, subclass), instance, site));
    }

    /// <summary>Records that the calling thread released <paramref name="instance"/>.</summary>
    public void Release(object instance)
    {
        // A validator created off never recorded a held lock: nothing to look up (a hot path).
        var held = _tracking ? t_held : null;
        if (held is null)
        {
            return;
        }

        for (var i = held.Count - 1; i >= 0; i--)
        {
            if (held[i].Validator == this && ReferenceEquals(held[i].Instance, instance))
            {
                held.RemoveAt(i);
                return;
            }
        }
    }

    /// <summary>How many locks of this validator the calling thread holds (for assertions).</summary>
    public int HeldByCurrentThread()
    {
        var n = 0;
        foreach (var h in t_held ?? [])
        {
            n += h.Validator == this ? 1 : 0;
        }

        return n;
    }

    private static string Name(LockClass cls, int subclass) => subclass == 0 ? cls.Name : $"{cls.Name}/{subclass}";

    private bool AddDependency(HeldLock held, int to, string toName, AcquireSite toSite)
    {
        var from = held.Key;
        lock (_graphLock)
        {
            var edge = ((long)from << 32) | (uint)to;
            if (_edges.ContainsKey(edge))
            {
                return true;
            }

            var stack = new StackTrace(2, true);
            if (FindPath(to, from) is { } existing)
            {
                Fail(new LockdepReport(LockdepReportKind.OrderInversion, held.Name, toName, stack, existing.Stack, held.Site, toSite, existing.Site));
                return false;
            }

            _edges.Add(edge, (stack, toSite));
            if (!_successors.TryGetValue(from, out var next))
            {
                _successors[from] = next = [];
            }

            next.Add(to);
            return true;
        }
    }

    /// <summary>Depth-first search for a recorded path start -&gt; ... -&gt; goal; returns the first edge's stack and site.</summary>
    private (StackTrace Stack, AcquireSite Site)? FindPath(int start, int goal)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<(int Node, (StackTrace, AcquireSite)? FirstSite)>();
        stack.Push((start, null));
        while (stack.Count > 0)
        {
            var (node, firstSite) = stack.Pop();
            if (!seen.Add(node) || !_successors.TryGetValue(node, out var next))
            {
                continue;
            }

            foreach (var n in next)
            {
                var site = firstSite ?? _edges[((long)node << 32) | (uint)n];
                if (n == goal)
                {
                    return site;
                }

                stack.Push((n, site));
            }
        }

        return null;
    }

    private void Fail(LockdepReport report)
    {
        if (Interlocked.CompareExchange(ref _report, report, null) is null)
        {
            Enabled = false;
        }
    }

    private readonly record struct HeldLock(LockValidator Validator, int Key, string Name, object Instance, AcquireSite Site);
}
