namespace Testbed.HostMm.Locking;

/// <summary>
/// A lock class in the lockdep sense (include/linux/lockdep.h): every lock of one kind (every
/// mmap lock, every split page-table lock) shares one class, and the validator records the order
/// in which classes are taken, not individual locks. Two locks of the same class taken together are
/// told apart by a <em>subclass</em> (the kernel's <c>spin_lock_nested</c>), as fork does with the
/// parent's and the child's page-table locks.
/// </summary>
public sealed class LockClass
{
    private static int s_nextId;

    /// <summary>Creates a lock class. Create classes once (static fields), as lockdep keys are static.</summary>
    /// <param name="name">The name reports use, e.g. <c>"mmap_lock"</c>.</param>
    public LockClass(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Id = Interlocked.Increment(ref s_nextId);
    }

    /// <summary>The name reports use.</summary>
    public string Name { get; }

    internal int Id { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
