using System.Diagnostics;
using Testbed.HostMm;
using Testbed.Kernels;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<uint>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>> _launch;
    private readonly int[] _controlHost;
    private readonly FaultBatch _batch;
    private readonly int[] _configHost = new int[DeviceAccess.ConfigLength];
    private readonly List<FatalFault> _fatalFaults = [];
    private MemoryBuffer1D<int> _control;

    /// <summary>
    /// Runs <paramref name="work"/> on the device to completion (DESIGN §4.2): launch, drain the fault
    /// buffer, service the faults in batches, relaunch; each work item resumes from its progress
    /// counter, so every operation is applied exactly once however many replays it takes.
    /// </summary>
    /// <remarks>
    /// A fault the CPU's own mapping forbids (no VMA, no permission) is fatal (<see cref="FatalFault"/>):
    /// the page is marked so that the work items reaching it cancel themselves, every other item runs
    /// to completion, and the run returns the fault's error, listed in <see cref="FatalFaults"/>. Nothing
    /// but the cancelled items' remaining operations is lost, and the device is ready for the next run.
    /// </remarks>
    /// <returns>
    /// -EINVAL for work outside the mirrored range; the first fatal fault's error (-EFAULT, -EPERM)
    /// once every other item completed; or a service error that ends the run at once (-EBUSY when a
    /// fault could not be serviced within <see cref="MirrorOptions.FaultTimeout"/>, or when no work
    /// item advanced for <see cref="MirrorOptions.ReplayStallTimeout"/> of replays: the operations
    /// already applied stay applied, once each); with <see cref="LastError"/> saying where and why.
    /// </returns>
    public Errno Run(in DeviceWork work) => RunWith(work, _noData.View);

    /// <summary>The fatal faults of the last <see cref="Run"/>, <see cref="Read"/> or <see cref="Write"/>, one per page (empty when it had none).</summary>
    public IReadOnlyList<FatalFault> FatalFaults => [.. _fatalFaults];

    /// <summary>Reads <paramref name="destination"/>.Length words from <paramref name="va"/> through the device (<c>dmirror_read</c>).</summary>
    public Errno Read(ulong va, Span<int> destination)
    {
        using var data = _accelerator.Allocate1D<int>(Math.Max(1, destination.Length));
        var err = RunWords(va, destination.Length, DeviceAccess.OpLoad, data);
        if (err == Errno.Ok)
        {
            data.View.CopyToCPU(destination);
        }

        return err;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="va"/> through the device (<c>dmirror_write</c>).</summary>
    public Errno Write(ulong va, ReadOnlySpan<int> source)
    {
        using var data = _accelerator.Allocate1D<int>(Math.Max(1, source.Length));
        data.View.CopyFromCPU(source);
        return RunWords(va, source.Length, DeviceAccess.OpStore, data);
    }

    private Errno RunWords(ulong va, int words, int op, MemoryBuffer1D<int> data)
    {
        if (va < Start || va % sizeof(int) != 0 || words <= 0)
        {
            return Fail(Errno.EINVAL, $"device access at 0x{va:x} of {words} words: not an aligned address in the mirrored range");
        }

        return RunWith(new DeviceWork(op, words, 1, (long)(va - Start) / sizeof(int), words, 1, 0), data.View);
    }

    private Errno RunWith(in DeviceWork work, ArrayView<int> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var words = Pages * WordsPerPage;
        if (work.Items <= 0 || work.OpsPerItem <= 0 || work.Span <= 0 || work.Stride <= 0 || work.FirstWord < 0 || work.FirstWord + work.Span > words
            || work.Op is < DeviceAccess.OpAdd or > DeviceAccess.OpStore || (work.Op != DeviceAccess.OpAdd && data.Length < work.TotalOps))
        {
            return Fail(Errno.EINVAL, $"device work {work} does not fit the mirrored range of {words} words");
        }

        _lastError.Value = null;
        _fatalFaults.Clear();
        PrepareControl(work.Items);
        _configHost[DeviceAccess.ConfigOp] = work.Op;
        _configHost[DeviceAccess.ConfigOpsPerItem] = work.OpsPerItem;
        _configHost[DeviceAccess.ConfigOpsPerLaunch] = Options.OpsPerLaunch;
        _configHost[DeviceAccess.ConfigWordsPerPage] = WordsPerPage;
        _configHost[DeviceAccess.ConfigFaultCapacity] = Options.FaultBufferCapacity;
        _configHost[DeviceAccess.ConfigFirstWord] = checked((int)work.FirstWord);
        _configHost[DeviceAccess.ConfigSpan] = checked((int)work.Span);
        _configHost[DeviceAccess.ConfigStride] = checked((int)work.Stride);
        _configHost[DeviceAccess.ConfigItems] = work.Items;
        _configHost[DeviceAccess.ConfigValue] = work.Value;
        _config.CopyFromCPU(_configHost);
        try
        {
            return Replay(work, data);
        }
        finally
        {
            ClearFatalMarks();
            Activity = "idle";
        }
    }

    /// <summary>Launches, services the faults and relaunches until every item completed or was cancelled, or the run gives up.</summary>
    private Errno Replay(in DeviceWork work, ArrayView<int> data)
    {
        var header = _controlHost.AsSpan(0, DeviceAccess.ControlFaults);
        var stallTicks = (long)(Options.ReplayStallTimeout.TotalSeconds * Stopwatch.Frequency);
        var checkAt = Stopwatch.GetTimestamp() + stallTicks;
        var lastProgress = 0L;
        for (var replay = false; ; replay = true)
        {
            Launch(work.Items, data, replay);
            _control.View.SubView(0, DeviceAccess.ControlFaults).CopyToCPU(header);
            if (header[DeviceAccess.ControlItemsDone] + header[DeviceAccess.ControlItemsCancelled] == work.Items)
            {
                return _fatalFaults.Count == 0 ? Errno.Ok : EndCancelled(header[DeviceAccess.ControlItemsCancelled], work.Items);
            }

            if (Stopwatch.GetTimestamp() >= checkAt)
            {
                var progress = Progress(work.Items);
                if (progress == lastProgress)
                {
                    return Fail(Errno.EBUSY, $"device run: no work item advanced in {Options.ReplayStallTimeout.TotalMilliseconds} ms of replays ({Counters.ThrottledFaults} faults throttled so far); {progress} of {work.TotalOps} operations applied, each once");
                }

                lastProgress = progress;
                checkAt = Stopwatch.GetTimestamp() + stallTicks;
            }

            var faults = Math.Min(header[DeviceAccess.ControlFaultCount], Options.FaultBufferCapacity);
            if (faults == 0)
            {
                continue;
            }

            var records = _controlHost.AsSpan(DeviceAccess.ControlFaults, faults);
            _control.View.SubView(DeviceAccess.ControlFaults, faults).CopyToCPU(records);
            _controlHost[0] = 0;
            _control.View.SubView(DeviceAccess.ControlFaultCount, 1).CopyFromCPU(_controlHost.AsSpan(0, 1));
            _batch.Load(records);
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

    /// <summary>The operations the run's work items have applied so far: the sum of their progress counters (a cancelled item's is <c>-1 - done</c>).</summary>
    private long Progress(int items)
    {
        var counters = new int[items];
        _control.View.SubView(DeviceAccess.ControlFaults + Options.FaultBufferCapacity, items).CopyToCPU(counters);
        var sum = 0L;
        foreach (var c in counters)
        {
            sum += c >= 0 ? c : -1 - c;
        }

        return sum;
    }

    /// <summary>Reports the first fatal fault of a run whose other items all completed.</summary>
    private Errno EndCancelled(int cancelled, int items)
    {
        Counters.Cancelled(cancelled);
        var first = _fatalFaults[0];
        return Fail(first.Error, $"{first} ({_fatalFaults.Count} page(s) with fatal faults; {cancelled} of {items} work items cancelled, the others completed)");
    }

    /// <summary>
    /// Clears the run's <see cref="DevicePte.Fatal"/> marks, however the run ended: a mark left by a
    /// run that gave up would make the next run's items cancel themselves on a page nothing is wrong
    /// with any more.
    /// </summary>
    private void ClearFatalMarks()
    {
        if (_fatalFaults.Count == 0)
        {
            return;
        }

        using (Mutex.Enter())
        {
            foreach (var f in _fatalFaults)
            {
                var page = PageOf(f.Address);
                if (_pt[page] == DevicePte.Fatal)
                {
                    _pt.Set(page, 0);
                }
            }
        }
    }

    /// <summary>Zeroes the fault header and the progress counters, growing the control buffer for <paramref name="items"/>.</summary>
    private void PrepareControl(int items)
    {
        var needed = DeviceAccess.ControlFaults + (long)Options.FaultBufferCapacity + items;
        if (_control.Length < needed)
        {
            _control.Dispose();
            _control = _accelerator.Allocate1D<int>(needed);
        }
        else
        {
            _control.MemSetToZero();
        }
    }

    /// <summary>
    /// One launch: under the mapping lock (read), upload the page table if it changed and run the
    /// kernel to completion, so an invalidation that takes the lock for write knows no launch still
    /// uses entries it zapped.
    /// </summary>
    private void Launch(int items, ArrayView<int> data, bool replay)
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
            _launch(_accelerator.DefaultStream, items, _pt.View, _system.View, _memory.Words.View, _control.View, data, _config.View);
            _accelerator.Synchronize();
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
