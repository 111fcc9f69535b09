using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// Memory an HMM mirror manages, as a kernel sees it (DESIGN §4.1): a kernel takes it as a parameter
/// and reaches the mirrored range only through it. Every access translates a word index through the
/// device page table; a missing translation or permission appends a fault record to the fault buffer,
/// like a GPU's replayable fault, and reports <see cref="Faulted"/>, so the work item stops and the
/// driver services the fault and relaunches; a page the driver marked <see cref="DevicePte.Fatal"/>
/// reports <see cref="Cancelled"/>, and the item stops for good. The driver (<c>MirrorDevice</c>) builds
/// it for every launch.
/// </summary>
/// <remarks>
/// <para><b>Exactly once.</b> Each work item keeps a progress counter in device memory:
/// <see cref="Resume"/> reads it, <see cref="Suspend"/> writes it. An item applies its operations in
/// order from where it stopped, and counts one as done only when its access returned
/// <see cref="Applied"/>, so however many replays the faults take, every operation is applied once.
/// An operation must therefore be one access (or end with its only write). A kernel written against
/// this struct:</para>
/// <code>
/// static void Histogram(Index1D i, DeviceMirror mirror, ArrayView&lt;int&gt; samples, int perItem)
/// {
///     var done = mirror.Resume(i, perItem);
///     if (done &lt; 0) return;                       // finished or cancelled
///     var limit = mirror.LaunchLimit(done, perItem);
///     var status = DeviceMirror.Applied;
///     while (done &lt; limit)
///     {
///         status = mirror.Add(samples[(i.X * perItem) + done] % 64, 1);   // word index in the range
///         if (status != DeviceMirror.Applied) break;
///         done++;
///     }
///     mirror.Suspend(i, done, perItem, status);
/// }
/// </code>
/// <para><b>Addresses</b> are word indexes (32-bit words) from the start of the mirrored range. An
/// index outside it cancels the item, and the run fails with -EFAULT. A translated address is a word
/// of system memory (HostMm's arena, mapped into the accelerator) or, with <see cref="DeviceFlag"/>
/// added, of this device's memory. A fault record is <c>page * 4 + access</c>.</para>
/// <para><b>The link.</b> Atomics on system memory honour the accelerator's emulated non-coherent
/// link (<see cref="LinkEmulation"/>); atomics on device memory are always the device's own.</para>
/// </remarks>
public readonly struct DeviceMirror
{
    /// <summary>The access succeeded.</summary>
    public const int Applied = 1;

    /// <summary>The access faulted; the fault is recorded and the driver will service it before the next launch.</summary>
    public const int Faulted = 0;

    /// <summary>The page took a fatal fault (no VMA, no permission): the work item must stop for good.</summary>
    public const int Cancelled = -1;

    /// <summary>Fault record access: a load.</summary>
    public const int AccessRead = 0;

    /// <summary>Fault record access: a store.</summary>
    public const int AccessWrite = 1;

    /// <summary>Fault record access: an atomic.</summary>
    public const int AccessAtomic = 2;

    /// <summary>Added to a translated word index that lies in device memory.</summary>
    public const long DeviceFlag = 1L << 62;

    /// <summary>Control buffer: how many faults were recorded in this launch (may exceed the capacity).</summary>
    public const int ControlFaultCount = 0;

    /// <summary>Control buffer: work items that finished all their operations.</summary>
    public const int ControlItemsDone = 1;

    /// <summary>Control buffer: work items cancelled (by a fatal fault, or an access outside the range).</summary>
    public const int ControlItemsCancelled = 2;

    /// <summary>
    /// Control buffer: the first fault record. The records are followed by the cancel bitmap (a bit
    /// per page of the range, set when a work item was cancelled on that page: see
    /// <see cref="BitmapWords"/>), then by the work items' progress counters (<see cref="CountersAt"/>).
    /// </summary>
    public const int ControlFaults = 3;

    private readonly ArrayView<uint> _pageTable;
    private readonly ArrayView<int> _system;
    private readonly ArrayView<int> _device;
    private readonly ArrayView<int> _control;
    private readonly LinkEmulation _link;
    private readonly int _wordsPerPage;
    private readonly int _faultCapacity;
    private readonly long _countersAt;
    private readonly int _opsPerLaunch;

    /// <summary>
    /// The mirror the driver hands a launch: its page table, system memory (HostMm's arena), device
    /// memory, the control buffer (fault header, <paramref name="faultCapacity"/> records, the cancel
    /// bitmap, then a progress counter per work item), the link, and the most operations an item
    /// applies per launch.
    /// </summary>
    public DeviceMirror(ArrayView<uint> pageTable, ArrayView<int> system, ArrayView<int> device, ArrayView<int> control, LinkEmulation link, int wordsPerPage, int faultCapacity, int opsPerLaunch)
    {
        _pageTable = pageTable;
        _system = system;
        _device = device;
        _control = control;
        _link = link;
        _wordsPerPage = wordsPerPage;
        _faultCapacity = faultCapacity;
        _countersAt = CountersAt(faultCapacity, pageTable.Length);
        _opsPerLaunch = opsPerLaunch;
    }

    /// <summary>32-bit words of the cancel bitmap for <paramref name="pages"/> pages.</summary>
    public static long BitmapWords(long pages) => (pages + 31) / 32;

    /// <summary>Where in the control buffer the cancel bitmap of a mirror with <paramref name="faultCapacity"/> fault records starts.</summary>
    public static long BitmapAt(int faultCapacity) => ControlFaults + (long)faultCapacity;

    /// <summary>Where in the control buffer the progress counters of a mirror of <paramref name="pages"/> pages with <paramref name="faultCapacity"/> fault records start.</summary>
    public static long CountersAt(int faultCapacity, long pages) => BitmapAt(faultCapacity) + BitmapWords(pages);

    /// <summary>Words in the mirrored range.</summary>
    public long Words => _pageTable.Length * _wordsPerPage;

    /// <summary>
    /// How many of its <paramref name="total"/> operations <paramref name="item"/> already applied, or
    /// -1 when it has nothing left to do (all applied, or cancelled).
    /// </summary>
    public int Resume(Index1D item, int total)
    {
        var done = _control[_countersAt + item.X];
        return done < 0 || done >= total ? -1 : done;
    }

    /// <summary>Where an item that has applied <paramref name="done"/> operations stops in this launch: the launch applies at most a fixed number, so invalidations never wait long.</summary>
    public int LaunchLimit(int done, int total) => total - done < _opsPerLaunch ? total : done + _opsPerLaunch;

    /// <summary>
    /// Records where <paramref name="item"/> stopped: <paramref name="done"/> operations applied, the
    /// last access returning <paramref name="status"/>. A cancelled item keeps <c>-1 - done</c>, so a
    /// replay skips it and the driver can still tell how far it got.
    /// </summary>
    public void Suspend(Index1D item, int done, int total, int status)
    {
        var at = _countersAt + item.X;
        if (status == Cancelled)
        {
            _control[at] = -1 - done;
            Atomic.Add(ref _control[ControlItemsCancelled], 1);
        }
        else
        {
            _control[at] = done;
            if (done >= total)
            {
                Atomic.Add(ref _control[ControlItemsDone], 1);
            }
        }
    }

    /// <summary>Atomically adds <paramref name="value"/> at <paramref name="word"/>: <see cref="Applied"/>, <see cref="Faulted"/> or <see cref="Cancelled"/>.</summary>
    public int Add(long word, int value)
    {
        var at = Translate(word, AccessAtomic);
        if (at < 0)
        {
            return (int)at + 1;
        }

        if (at >= DeviceFlag)
        {
            Atomic.Add(ref _device[at - DeviceFlag], value);
        }
        else if (_link.IsEmulated)
        {
            _link.Add(ref _system[at], at, value);
        }
        else
        {
            Atomic.Add(ref _system[at], value);
        }

        return Applied;
    }

    /// <summary>Loads the word at <paramref name="word"/>: its value as an unsigned 32-bit number, or -1 after a fault, -2 when cancelled (see <see cref="StatusOf"/>).</summary>
    public long Load(long word)
    {
        var at = Translate(word, AccessRead);
        if (at < 0)
        {
            return at;
        }

        var value = at >= DeviceFlag ? _device[at - DeviceFlag] : _system[at];
        return value & 0xFFFFFFFFL;
    }

    /// <summary>Stores <paramref name="value"/> at <paramref name="word"/>: <see cref="Applied"/>, <see cref="Faulted"/> or <see cref="Cancelled"/>.</summary>
    public int Store(long word, int value)
    {
        var at = Translate(word, AccessWrite);
        if (at < 0)
        {
            return (int)at + 1;
        }

        if (at >= DeviceFlag)
        {
            _device[at - DeviceFlag] = value;
        }
        else
        {
            _system[at] = value;
        }

        return Applied;
    }

    /// <summary>The status of a <see cref="Load"/>'s result.</summary>
    public static int StatusOf(long loaded) => loaded >= 0 ? Applied : (int)loaded + 1;

    /// <summary>
    /// Translates <paramref name="word"/> for <paramref name="access"/>: the physical word index (plus
    /// <see cref="DeviceFlag"/> for device memory), -1 after recording a fault, or -2 when the page took
    /// a fatal fault (its bit in the cancel bitmap is set) or the word lies outside the range (nothing
    /// is recorded); the item must cancel.
    /// </summary>
    private long Translate(long word, int access)
    {
        if (word < 0 || word >= Words)
        {
            return -2;
        }

        var page = (int)(word / _wordsPerPage);
        var entry = _pageTable[page];
        var need = access == AccessRead ? DevicePte.Valid : access == AccessWrite ? DevicePte.Valid | DevicePte.Write : DevicePte.Valid | DevicePte.Write | DevicePte.Atomic;
        if ((entry & need) != need)
        {
            if (entry == DevicePte.Fatal)
            {
                Atomic.Or(ref _control[BitmapAt(_faultCapacity) + (page / 32)], 1 << (page % 32));
                return -2;
            }

            var slot = Atomic.Add(ref _control[ControlFaultCount], 1);
            if (slot < _faultCapacity)
            {
                _control[ControlFaults + slot] = (page * 4) + access;
            }

            return -1;
        }

        var physical = ((long)(entry & DevicePte.FrameMask) * _wordsPerPage) + (word % _wordsPerPage);
        return (entry & DevicePte.Device) != 0 ? physical + DeviceFlag : physical;
    }
}
