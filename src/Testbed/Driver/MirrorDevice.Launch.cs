using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using Testbed.HostMm;
using Testbed.Kernels.Algorithms;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    private readonly Action<Index1D, DeviceMirror, DeviceWork, ArrayView<int>> _launch;
    private readonly int[] _controlHost;
    private readonly FaultBatch _batch;
    private readonly List<FatalFault> _fatalFaults = [];
    private readonly HashSet<long> _fatalPages = [];
    private readonly List<FatalRange> _fatalRanges = [];
    private readonly Dictionary<System.Reflection.MethodInfo, Delegate> _userKernels = [];
    private MemoryBuffer1D<int, Stride1D.Dense> _control;

    /// <summary>
    /// Runs <paramref name="work"/> on the device to completion (DESIGN §4.2): launch, drain the fault
    /// buffer, service the faults in batches, relaunch; each work item resumes from its progress
    /// counter, so every operation is applied exactly once however many replays it takes.
    /// </summary>
    /// <remarks>
    /// A fault the CPU's own mapping forbids (no VMA, no permission) is fatal (<see cref="FatalFault"/>):
    /// the whole range of the mirror that the CPU's mapping forbids the same way (the hole, or the
    /// VMA without the permission) is marked at once, so that every work item reaching it cancels
    /// itself — as UVM cancels the faulting context, rather than one page per replay — every other
    /// item runs to completion, and the run returns the fault's error, with each page of the range an
    /// item reached listed in <see cref="FatalFaults"/>. Nothing but the cancelled items' remaining
    /// operations is lost, and the device is ready for the next run. A run that keeps cancelling items
    /// is making progress, for the stall check as much as one that applies operations.
    /// </remarks>
    /// <returns>
    /// -EINVAL for work outside the mirrored range; the first fatal fault's error (-EFAULT, -EPERM)
    /// once every other item completed; or a service error that ends the run at once (-EBUSY when a
    /// fault could not be serviced within <see cref="MirrorOptions.FaultTimeout"/>, or when no work
    /// item advanced for <see cref="MirrorOptions.ReplayStallTimeout"/> of replays: the operations
    /// already applied stay applied, once each); with <see cref="LastError"/> saying where and why.
    /// </returns>
    public Errno Run(in DeviceWork work) => RunWork(work, _noData.View);

    /// <summary>
    /// Runs a user's ILGPU kernel over <paramref name="items"/> work items on mirrored memory, with the
    /// same fault-and-replay loop and the same errors as <see cref="Run(in DeviceWork)"/>. The kernel
    /// takes the <see cref="DeviceMirror"/> after its <see cref="Index1D"/> and reaches the mirrored
    /// range only through it, following its progress protocol (<see cref="DeviceMirror.Resume"/>,
    /// <see cref="DeviceMirror.Suspend"/>) so each operation is applied exactly once. It is loaded on the
    /// device's accelerator the first time and kept. An item that addresses a word outside the range is
    /// cancelled, and the run returns -EFAULT.
    /// </summary>
    public Errno Run<T1>(Action<Index1D, DeviceMirror, T1> kernel, int items, T1 a1)
        where T1 : struct => RunItems(items, new UserLaunch<T1>(UserKernel(kernel, _runner.LoadAutoGroupedStreamKernel), a1), null);

    /// <inheritdoc cref="Run{T1}"/>
    public Errno Run<T1, T2>(Action<Index1D, DeviceMirror, T1, T2> kernel, int items, T1 a1, T2 a2)
        where T1 : struct
        where T2 : struct => RunItems(items, new UserLaunch<T1, T2>(UserKernel(kernel, _runner.LoadAutoGroupedStreamKernel), a1, a2), null);

    /// <inheritdoc cref="Run{T1}"/>
    public Errno Run<T1, T2, T3>(Action<Index1D, DeviceMirror, T1, T2, T3> kernel, int items, T1 a1, T2 a2, T3 a3)
        where T1 : struct
        where T2 : struct
        where T3 : struct => RunItems(items, new UserLaunch<T1, T2, T3>(UserKernel(kernel, _runner.LoadAutoGroupedStreamKernel), a1, a2, a3), null);

    /// <summary>The fatal faults of the last run, <see cref="Read"/> or <see cref="Write"/>, one per page (empty when it had none).</summary>
    public IReadOnlyList<FatalFault> FatalFaults => [.. _fatalFaults];

    /// <summary>Reads <paramref name="destination"/>.Length words from <paramref name="va"/> through the device (<c>dmirror_read</c>).</summary>
    public Errno Read(ulong va, Span<int> destination)
    {
        using var data = _runner.Allocate1D<int>(Math.Max(1, destination.Length));
        var err = RunWords(va, destination.Length, DeviceWork.OpLoad, data.View);
        if (err == Errno.Ok)
        {
            _runner.CopyToCPU(data.View, destination);
        }

        return err;
    }

    /// <summary>
    /// The sum of <paramref name="words"/> words from <paramref name="va"/>, read through the device as
    /// <see cref="Read"/> reads them and added up where they landed: on the device with ILGPU.Algorithms'
    /// reduce, so only the sum crosses back (by the host in place on the direct cpu runner). A check of
    /// a range's total that does not copy every page back.
    /// </summary>
    public Errno Sum(ulong va, int words, out long sum)
    {
        sum = 0;
        using var data = _runner.Allocate1D<int>(Math.Max(1, words));
        var err = RunWords(va, words, DeviceWork.OpLoad, data.View);
        if (err == Errno.Ok)
        {
            sum = DeviceAlgorithms.Sum(_runner, ((ArrayView<int>)data.View).SubView(0, words));
        }

        return err;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="va"/> through the device (<c>dmirror_write</c>).</summary>
    public Errno Write(ulong va, ReadOnlySpan<int> source)
    {
        using var data = _runner.Allocate1D<int>(Math.Max(1, source.Length));
        _runner.CopyFromCPU(data.View, source);
        return RunWords(va, source.Length, DeviceWork.OpStore, data.View);
    }

    private Errno RunWords(ulong va, int words, int op, ArrayView<int> data)
    {
        if (va < Start || va % sizeof(int) != 0 || words <= 0)
        {
            return Fail(Errno.EINVAL, $"device access at 0x{va:x} of {words} words: not an aligned address in the mirrored range");
        }

        return RunWork(new DeviceWork(op, words, 1, (long)(va - Start) / sizeof(int), words, 1, 0), data);
    }

    private Errno RunWork(in DeviceWork work, ArrayView<int> data)
    {
        var words = Pages * WordsPerPage;
        if (work.Items <= 0 || work.OpsPerItem <= 0 || work.Span <= 0 || work.Stride <= 0 || work.FirstWord < 0 || work.FirstWord + work.Span > words
            || work.Op is < DeviceWork.OpAdd or > DeviceWork.OpStore || (work.Op != DeviceWork.OpAdd && data.Length < work.TotalOps))
        {
            return Fail(Errno.EINVAL, $"device work {work} does not fit the mirrored range of {words} words");
        }

        return RunItems(work.Items, new WorkLaunch(_launch, work, data), work.TotalOps);
    }

    /// <summary>The loaded launcher of a user's kernel, loaded on first use.</summary>
    private TLaunch UserKernel<TLaunch>(TLaunch kernel, Func<TLaunch, TLaunch> load)
        where TLaunch : Delegate
    {
        ArgumentNullException.ThrowIfNull(kernel);
        lock (_userKernels)
        {
            if (!_userKernels.TryGetValue(kernel.Method, out var loaded))
            {
                loaded = load(kernel);
                _userKernels[kernel.Method] = loaded;
            }

            return (TLaunch)loaded;
        }
    }

    /// <summary>One run: prepare the control buffer, replay to the end, and clear what the run marked, however it ended.</summary>
    private Errno RunItems<TLaunch>(int items, in TLaunch launch, long? totalOps)
        where TLaunch : struct, IMirrorLaunch
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (items <= 0)
        {
            return Fail(Errno.EINVAL, $"device run of {items} work items: at least one is needed");
        }

        _lastError.Value = null;
        _fatalFaults.Clear();
        _fatalPages.Clear();
        _fatalRanges.Clear();
        PrepareControl(items);
        _runThread = Environment.CurrentManagedThreadId;
        try
        {
            return Replay(launch, items, totalOps);
        }
        finally
        {
            ClearFatalMarks();
            Activity = "idle";
            _runThread = 0;
        }
    }

    /// <summary>Launches, services the faults and relaunches until every item completed or was cancelled, or the run gives up.</summary>
    private Errno Replay<TLaunch>(in TLaunch launch, int items, long? totalOps)
        where TLaunch : struct, IMirrorLaunch
    {
        var header = _controlHost.AsSpan(0, DeviceMirror.ControlFaults);
        var stallTicks = (long)(Options.ReplayStallTimeout.TotalSeconds * Stopwatch.Frequency);

        // The window opens with the first replay: the first launch (on a loaded machine, with its
        // compilation) and the service of its faults are not replays, and before any service no item
        // could have advanced.
        var checkAt = long.MaxValue;
        var lastProgress = 0L;
        ArrayView<int> control = _control.View;
        for (var replay = false; ; replay = true)
        {
            if (replay && checkAt == long.MaxValue)
            {
                checkAt = Stopwatch.GetTimestamp() + stallTicks;
            }

            Launch(launch, items, replay);
            _runner.CopyToCPU(control.SubView(0, DeviceMirror.ControlFaults), header);
            if (header[DeviceMirror.ControlItemsDone] + header[DeviceMirror.ControlItemsCancelled] == items)
            {
                NameReachedPages();
                return header[DeviceMirror.ControlItemsCancelled] == 0 && _fatalFaults.Count == 0 ? Errno.Ok : EndCancelled(header[DeviceMirror.ControlItemsCancelled], items);
            }

            if (Stopwatch.GetTimestamp() >= checkAt)
            {
                var applied = Progress(items);
                var progress = applied + header[DeviceMirror.ControlItemsCancelled];
                if (progress == lastProgress)
                {
                    var summary = totalOps is { } total ? $"{applied} of {total} operations applied, each once" : $"{applied} operations applied, each once";
                    return Fail(Errno.EBUSY, $"device run: no work item advanced in {Options.ReplayStallTimeout.TotalMilliseconds} ms of replays ({Counters.ThrottledFaults} faults throttled so far); {summary}");
                }

                lastProgress = progress;
                checkAt = Stopwatch.GetTimestamp() + stallTicks;
            }

            var faults = Math.Min(header[DeviceMirror.ControlFaultCount], Options.FaultBufferCapacity);
            if (faults == 0)
            {
                continue;
            }

            LoadBatch(control.SubView(DeviceMirror.ControlFaults, faults));
            _controlHost[0] = 0;
            _runner.CopyFromCPU(control.SubView(DeviceMirror.ControlFaultCount, 1), _controlHost.AsSpan(0, 1));
            var serviceStart = Stopwatch.GetTimestamp();
            Errno err;
            using (_service.Enter())
            {
                err = ServiceFaults();
            }

            Counters.FaultServiced(Stopwatch.GetTimestamp() - serviceStart);
            if (err != Errno.Ok)
            {
                return err;
            }
        }
    }

    /// <summary>
    /// Brings a launch's fault records into the batch: sorted and coalesced on the device first when
    /// the mirror does that (<see cref="MirrorOptions.FaultSort"/>) and the batch is large enough, so only
    /// the distinct faults are copied back; else all of them, for the host to sort.
    /// </summary>
    private void LoadBatch(ArrayView<int> records)
    {
        if (_sorter is not null && records.Length >= Options.DeviceFaultSortMinimum)
        {
            var distinct = _sorter.SortUnique(records);
            var sorted = _controlHost.AsSpan(DeviceMirror.ControlFaults, distinct);
            _runner.CopyToCPU(records.SubView(0, distinct), sorted);
            _batch.LoadSorted(sorted);
            Counters.SortedOnDevice();
            return;
        }

        var host = _controlHost.AsSpan(DeviceMirror.ControlFaults, (int)records.Length);
        _runner.CopyToCPU(records, host);
        _batch.Load(host);
    }

    /// <summary>The operations the run's work items have applied so far: the sum of their progress counters (a cancelled item's is <c>-1 - done</c>).</summary>
    private long Progress(int items)
    {
        var counters = new int[items];
        _runner.CopyToCPU(((ArrayView<int>)_control.View).SubView(DeviceMirror.CountersAt(Options.FaultBufferCapacity, Pages), items), counters);
        var sum = 0L;
        foreach (var c in counters)
        {
            sum += c >= 0 ? c : -1 - c;
        }

        return sum;
    }

    /// <summary>
    /// Reports the first fatal fault of a run whose other items all completed; with none recorded, the
    /// cancelled items addressed words outside the mirrored range (a user kernel's bug), -EFAULT.
    /// </summary>
    private Errno EndCancelled(int cancelled, int items)
    {
        Counters.Cancelled(cancelled);
        if (_fatalFaults.Count == 0)
        {
            return Fail(Errno.EFAULT, $"device run: {cancelled} of {items} work items addressed a word outside the mirrored range of {Pages * WordsPerPage} words and were cancelled; the others completed");
        }

        var first = _fatalFaults[0];
        return Fail(first.Error, $"{first} ({_fatalFaults.Count} page(s) with fatal faults; {cancelled} of {items} work items cancelled, the others completed)");
    }

    /// <summary>
    /// Names, in <see cref="FatalFaults"/>, each page of a forbidden range on which a work item was
    /// cancelled without faulting first (the range was marked when another of its pages faulted): the
    /// device set the page's bit in the cancel bitmap.
    /// </summary>
    private void NameReachedPages()
    {
        if (_fatalRanges.Count == 0)
        {
            return;
        }

        var bits = new int[DeviceMirror.BitmapWords(Pages)];
        _runner.CopyToCPU(((ArrayView<int>)_control.View).SubView(DeviceMirror.BitmapAt(Options.FaultBufferCapacity), bits.Length), bits);
        foreach (var range in _fatalRanges)
        {
            for (var page = range.First; page < range.End; page++)
            {
                if ((bits[page / 32] & (1 << (int)(page % 32))) != 0)
                {
                    NameFatal(page, range);
                }
            }
        }
    }

    /// <summary>
    /// Clears the run's <see cref="DevicePte.Fatal"/> marks, however the run ended: a mark left by a
    /// run that gave up would make the next run's items cancel themselves on a page nothing is wrong
    /// with any more.
    /// </summary>
    private void ClearFatalMarks()
    {
        if (_fatalRanges.Count == 0)
        {
            return;
        }

        using (Mutex.Enter())
        {
            foreach (var range in _fatalRanges)
            {
                for (var page = range.First; page < range.End; page++)
                {
                    if (_pt[page] == DevicePte.Fatal)
                    {
                        _pt.Set(page, 0);
                    }
                }
            }
        }
    }

    /// <summary>Zeroes the fault header, the cancel bitmap and the progress counters, growing the control buffer for <paramref name="items"/>.</summary>
    private void PrepareControl(int items)
    {
        var needed = DeviceMirror.CountersAt(Options.FaultBufferCapacity, Pages) + items;
        if (_control.Length < needed)
        {
            _control.Dispose();
            _control = _runner.Allocate1D<int>(needed);
        }
        else
        {
            _runner.Clear<int>(_control.View);
        }
    }

    /// <summary>
    /// One launch: under the mapping lock (read), upload the page table if it changed and run the
    /// kernel to completion, so an invalidation that takes the lock for write knows no launch still
    /// uses entries it zapped.
    /// </summary>
    private void Launch<TLaunch>(in TLaunch launch, int items, bool replay)
        where TLaunch : struct, IMirrorLaunch
    {
        Activity = "launch: taking the mapping lock for read";
        _mapping.DownRead();
        try
        {
            Activity = "launch: taking the mutex to upload the page table";
            using (Mutex.Enter())
            {
                _pt.Upload();
            }

            Activity = "launch: kernel running";
            launch.Launch(items, new DeviceMirror(_pt.View, _system.View, _memory.Words, _control.View, _runner.Link, WordsPerPage, Options.FaultBufferCapacity, Options.OpsPerLaunch));
            _runner.Synchronize();
        }
        finally
        {
            _mapping.UpRead();
        }

        Counters.Launch(replay);
    }

    /// <summary>Waits until no launch is in flight (the model of a device TLB invalidation completing).</summary>
    private void WaitForLaunches()
    {
        _mapping.DownWrite();
        _mapping.UpWrite();
    }

    private Errno Fail(Errno err, string detail)
    {
        _lastError.Value = detail;
        return err;
    }

    /// <summary>Waits <paramref name="ticks"/> Stopwatch ticks: sleeps for whole milliseconds, yields for less.</summary>
    private static void Nap(long ticks)
    {
        var until = Stopwatch.GetTimestamp() + ticks;
        if (ticks >= Stopwatch.Frequency / 1000)
        {
            Thread.Sleep(TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency));
        }

        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.Yield();
        }
    }
}
