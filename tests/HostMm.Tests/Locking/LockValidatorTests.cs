using Testbed.HostMm.Locking;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Locking;

public sealed class LockValidatorTests
{
    private static readonly LockClass DriverLock = new("driver->lock");
    private static readonly LockClass NotifierLock = new("driver->notifier_lock");

    [Fact]
    public void Inverted_order_is_reported_with_both_acquisition_sites()
    {
        var sync = new SyncDomain(validate: true);
        var a = new MmLock(sync, DriverLock);
        var b = new MmLock(sync, NotifierLock);
        TakeAThenB(a, b);
        Assert.Null(sync.Validator.Report);
        TakeBThenA(a, b);
        var report = sync.Validator.Report;
        Assert.NotNull(report);
        Assert.Equal(LockdepReportKind.OrderInversion, report.Kind);
        Assert.Equal(("driver->notifier_lock", "driver->lock"), (report.Held, report.Acquired));
        Assert.Equal(nameof(TakeBThenA), report.HeldSite.Member);
        Assert.Equal(nameof(TakeBThenA), report.AcquiredSite.Member);
        Assert.Equal(nameof(TakeAThenB), report.ExistingAcquiredSite.Member);
        Assert.NotNull(report.ExistingSite);
        Assert.Contains("circular", report.ToString());
        Assert.False(sync.Validator.Enabled);
    }

    [Fact]
    public void Consistent_order_stays_silent_however_often_and_from_however_many_threads()
    {
        var sync = new SyncDomain(validate: true);
        var a = new MmLock(sync, DriverLock);
        var b = new MmLock(sync, NotifierLock);
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 500; i++)
            {
                TakeAThenB(a, b);
            }
        });
        Assert.Null(sync.Validator.Report);
        Assert.Equal(1, sync.Validator.DependencyCount);
        Assert.Equal(0, sync.Validator.HeldByCurrentThread());
    }

    [Fact]
    public void Indirect_cycle_through_a_third_class_is_found()
    {
        var sync = new SyncDomain(validate: true);
        var a = new MmLock(sync, DriverLock);
        var b = new MmLock(sync, NotifierLock);
        var c = new MmLock(sync, LockClasses.PageTableLock);
        TakeAThenB(a, b);
        TakeAThenB(b, c);
        TakeAThenB(c, a);
        Assert.Equal(LockdepReportKind.OrderInversion, sync.Validator.Report?.Kind);
        Assert.Equal(("ptl", "driver->lock"), (sync.Validator.Report!.Held, sync.Validator.Report.Acquired));
    }

    [Fact]
    public void Recursive_read_of_the_mmap_lock_is_reported_but_nested_subclasses_are_not()
    {
        var sync = new SyncDomain(validate: true);
        var parent = new RwSemaphore(sync, LockClasses.MmapLock);
        var child = new RwSemaphore(sync, LockClasses.MmapLock);
        parent.DownWrite();
        child.DownWrite(subclass: 1);
        child.UpWrite();
        parent.UpWrite();
        Assert.Null(sync.Validator.Report);

        parent.DownRead();
        parent.DownRead();
        parent.UpRead();
        parent.UpRead();
        Assert.Equal(LockdepReportKind.RecursiveAcquisition, sync.Validator.Report?.Kind);
        Assert.Equal("mmap_lock", sync.Validator.Report!.Acquired);
    }

    [Fact]
    public void Disabled_validator_records_nothing()
    {
        var sync = new SyncDomain(validate: false);
        var a = new MmLock(sync, DriverLock);
        var b = new MmLock(sync, NotifierLock);
        TakeAThenB(a, b);
        TakeBThenA(a, b);
        Assert.Null(sync.Validator.Report);
        Assert.Equal(0, sync.Validator.DependencyCount);
    }

    /// <summary>
    /// Seed 004's shape: a driver takes its lock and then unmaps, while its invalidate callback
    /// takes the same lock under the mmap lock. The validator reports it without a deadlock.
    /// </summary>
    [Fact]
    public void Driver_unmapping_under_the_lock_its_callback_takes_is_reported()
    {
        var kernel = new HostKernel();
        var mm = kernel.CreateAddressSpace();
        try
        {
            var driverLock = new MmLock(kernel.Sync, DriverLock);
            Assert.Equal(Errno.Ok, mm.Mmap(0, 4096, Prot.ReadWrite, MmapFlags.Private, out var a));
            Assert.Equal(Errno.Ok, mm.Notifiers.Insert(a, 4096, new LockingCallback(driverLock), out var sub));
            Assert.Equal(Errno.Ok, mm.Mprotect(a, 4096, Prot.Read));
            Assert.Null(kernel.Sync.Validator.Report);
            using (driverLock.Enter())
            {
                Assert.Equal(Errno.Ok, mm.Mmap(0, 4096, Prot.ReadWrite, MmapFlags.Private, out _));
            }

            var report = kernel.Sync.Validator.Report;
            Assert.NotNull(report);
            Assert.Equal(("driver->lock", "mmap_lock"), (report.Held, report.Acquired));
            Assert.Equal(nameof(LockingCallback.Invalidate), report.ExistingAcquiredSite.Member);
            sub!.Remove();
        }
        finally
        {
            mm.Dispose();
            Assert.Empty(kernel.Audit().Leaks);
            kernel.Dispose();
        }
    }

    [Fact]
    public void Every_model_lock_passes_the_scheduler_seam()
    {
        using var t = new MmFixture();
        var seen = new HashSet<string>();
        t.Kernel.Sync.Scheduler = new RecordingScheduler(seen);
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 1));
        t.Kernel.Sync.Scheduler = null;
        Assert.Contains("Acquire:mmap_lock", seen);
        Assert.Contains("Acquire:ptl", seen);
        Assert.Contains("Acquire:zone->lock", seen);
    }

    private static void TakeAThenB(MmLock a, MmLock b)
    {
        using (a.Enter())
        using (b.Enter())
        {
        }
    }

    private static void TakeBThenA(MmLock a, MmLock b)
    {
        using (b.Enter())
        using (a.Enter())
        {
        }
    }

    private sealed class LockingCallback(MmLock driverLock) : IMmuIntervalNotifierOps
    {
        public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
        {
            using (driverLock.Enter())
            {
                subscription.SetSeq(curSeq);
            }

            return true;
        }
    }

    private sealed class RecordingScheduler(HashSet<string> seen) : IModelScheduler
    {
        public void OnSchedulePoint(SchedulePoint point, LockClass? cls, object instance)
        {
            lock (seen)
            {
                seen.Add($"{point}:{cls?.Name}");
            }
        }
    }
}
