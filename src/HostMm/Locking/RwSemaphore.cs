using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Locking;

/// <summary>
/// The kernel's <c>struct rw_semaphore</c> (kernel/locking/rwsem.c), used for the mmap lock: many
/// readers or one writer, and a waiting writer blocks new readers so that faults cannot starve
/// munmap. As in the kernel, a read acquisition is not recursive: a thread that takes the read side
/// twice can deadlock behind a waiting writer, and the validator reports it.
/// </summary>
public sealed class RwSemaphore
{
    private readonly object _gate = new();
    private readonly SyncDomain _domain;
    private readonly LockClass _class;
    private int _readers;
    private bool _writer;
    private int _waitingWriters;

    /// <summary>Creates a semaphore of class <paramref name="cls"/> reporting to <paramref name="domain"/>.</summary>
    public RwSemaphore(SyncDomain domain, LockClass cls)
    {
        _domain = domain;
        _class = cls;
    }

    /// <summary>Whether a writer holds the semaphore.</summary>
    public bool IsWriteLocked => Volatile.Read(ref _writer);

    /// <summary>How many readers hold the semaphore.</summary>
    public int ReaderCount => Volatile.Read(ref _readers);

    /// <summary><c>down_read()</c>.</summary>
    public void DownRead(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        _domain.BeforeAcquire(_class, subclass, this, new AcquireSite(member, file, line));
        lock (_gate)
        {
            while (_writer || _waitingWriters > 0)
            {
                _domain.BeforeWait(_class, this);
                Monitor.Wait(_gate);
            }

            _readers++;
        }
    }

    /// <summary><c>down_read_trylock()</c> (<c>mmap_read_trylock()</c>): takes the lock for read if no writer holds or waits for it.</summary>
    public bool TryDownRead(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        lock (_gate)
        {
            if (_writer || _waitingWriters > 0)
            {
                return false;
            }

            _readers++;
        }

        _domain.Validator.TryAcquired(_class, subclass, this, new AcquireSite(member, file, line));
        return true;
    }

    /// <summary><c>up_read()</c>.</summary>
    public void UpRead()
    {
        lock (_gate)
        {
            if (_readers <= 0)
            {
                throw new InvalidOperationException("UpRead: the mmap lock is not held for read.");
            }

            if (--_readers == 0 && _waitingWriters > 0)
            {
                Monitor.PulseAll(_gate);
            }
        }

        _domain.Validator.Release(this);
    }

    /// <summary><c>down_write()</c>.</summary>
    public void DownWrite(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        _domain.BeforeAcquire(_class, subclass, this, new AcquireSite(member, file, line));
        lock (_gate)
        {
            _waitingWriters++;
            while (_writer || _readers > 0)
            {
                _domain.BeforeWait(_class, this);
                Monitor.Wait(_gate);
            }

            _waitingWriters--;
            _writer = true;
        }
    }

    /// <summary><c>down_write_trylock()</c>: takes the lock for write if nobody holds it.</summary>
    public bool TryDownWrite(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        lock (_gate)
        {
            if (_writer || _readers > 0)
            {
                return false;
            }

            _writer = true;
        }

        _domain.Validator.TryAcquired(_class, subclass, this, new AcquireSite(member, file, line));
        return true;
    }

    /// <summary><c>up_write()</c>.</summary>
    public void UpWrite()
    {
        lock (_gate)
        {
            if (!_writer)
            {
                throw new InvalidOperationException("UpWrite: the mmap lock is not held for write.");
            }

            _writer = false;
            Monitor.PulseAll(_gate);
        }

        _domain.Validator.Release(this);
    }
}
