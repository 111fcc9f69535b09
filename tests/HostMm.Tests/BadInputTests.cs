using Testbed.HostMm.Cpu;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;
using Testbed.HostMm.Tests.Hmm;

namespace Testbed.HostMm.Tests;

/// <summary>
/// Every public HostMm entry point against unaligned, overflowing, out-of-VMA, wrong-owner and
/// wrong-kind arguments: each is refused with its <see cref="Errno"/>, and nothing changed — the
/// VMAs, the frames in use and the bytes already written are as they were.
/// </summary>
public sealed class BadInputTests
{
    private const ulong Page = 4096;

    private static readonly Dictionary<string, (Errno Expected, Func<World, Errno> Call)> Table = new()
    {
        ["Mmap zero length"] = (Errno.EINVAL, w => w.Mm.Mmap(0, 0, Prot.ReadWrite, MmapFlags.Private, out _)),
        ["Mmap unknown prot bits"] = (Errno.EINVAL, w => w.Mm.Mmap(0, Page, (Prot)8, MmapFlags.Private, out _)),
        ["Mmap both private and shared"] = (Errno.EINVAL, w => w.Mm.Mmap(0, Page, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Shared, out _)),
        ["Mmap unaligned fixed address"] = (Errno.EINVAL, w => w.Mm.Mmap(w.Hole + 1, Page, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _)),
        ["Mmap overflowing length"] = (Errno.ENOMEM, w => w.Mm.Mmap(0, ulong.MaxValue, Prot.ReadWrite, MmapFlags.Private, out _)),
        ["Mmap fixed past user space"] = (Errno.ENOMEM, w => w.Mm.Mmap(AddressSpace.TaskSize, Page, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _)),
        ["Mmap FixedNoReplace over a mapping"] = (Errno.EEXIST, w => w.Mm.Mmap(w.Rw, Page, Prot.ReadWrite, MmapFlags.Private | MmapFlags.FixedNoReplace, out _)),
        ["Munmap unaligned"] = (Errno.EINVAL, w => w.Mm.Munmap(w.Rw + 8, Page)),
        ["Munmap zero length"] = (Errno.EINVAL, w => w.Mm.Munmap(w.Rw, 0)),
        ["Munmap overflowing"] = (Errno.EINVAL, w => w.Mm.Munmap(w.Rw, ulong.MaxValue - Page)),
        ["Mprotect unaligned"] = (Errno.EINVAL, w => w.Mm.Mprotect(w.Rw + 8, Page, Prot.Read)),
        ["Mprotect unknown prot bits"] = (Errno.EINVAL, w => w.Mm.Mprotect(w.Rw, Page, (Prot)8)),
        ["Mprotect over a hole"] = (Errno.ENOMEM, w => w.Mm.Mprotect(w.Hole, Page, Prot.Read)),
        ["MadviseDontNeed unaligned"] = (Errno.EINVAL, w => w.Mm.MadviseDontNeed(w.Rw + 8, Page)),
        ["MadviseDontNeed overflowing"] = (Errno.EINVAL, w => w.Mm.MadviseDontNeed(w.Rw, ulong.MaxValue - Page)),
        ["MadviseDontNeed over a hole"] = (Errno.ENOMEM, w => w.Mm.MadviseDontNeed(w.Hole, Page)),
        ["HandleUserFault in a hole"] = (Errno.EFAULT, w => w.Mm.HandleUserFault(w.Hole, FaultFlags.None)),
        ["HandleUserFault write to read-only"] = (Errno.EFAULT, w => w.Mm.HandleUserFault(w.Ro, FaultFlags.Write)),
        ["CPU read in a hole"] = (Errno.EFAULT, w => w.Cpu.Read(w.Hole, out int _)),
        ["CPU write to read-only"] = (Errno.EFAULT, w => w.Cpu.Write(w.Ro, 1)),
        ["CPU misaligned atomic"] = (Errno.EINVAL, w => w.Cpu.AtomicAdd(w.Rw + 2, 1, out int _)),
        ["CPU misaligned compare-exchange"] = (Errno.EINVAL, w => w.Cpu.CompareExchange(w.Rw + 4, 1L, 0L, out _)),
        ["HmmRangeFault unaligned"] = (Errno.EINVAL, w => w.Fault(w.Rw + 8, w.Rw + Page, 0)),
        ["HmmRangeFault empty"] = (Errno.EINVAL, w => w.Fault(w.Rw, w.Rw, 0)),
        ["HmmRangeFault array too short"] = (Errno.EINVAL, w => w.Fault(w.Rw, w.Rw + (8 * Page), 0)),
        ["HmmRangeFault in a hole"] = (Errno.EFAULT, w => w.Fault(w.Hole, w.Hole + Page, HmmPfn.ReqFault)),
        ["HmmRangeFault write to read-only"] = (Errno.EPERM, w => w.Fault(w.Ro, w.Ro + Page, HmmPfn.ReqFault | HmmPfn.ReqWrite)),
        ["MigrateVmaSetup without a VMA"] = (Errno.EINVAL, w => MigrateDevice.MigrateVmaSetup(w.Migrate(null, w.Rw, w.Rw + Page))),
        ["MigrateVmaSetup outside its VMA"] = (Errno.EINVAL, w => MigrateDevice.MigrateVmaSetup(w.Migrate(w.RwVma, w.Ro, w.Ro + Page))),
        ["MigrateVmaSetup empty"] = (Errno.EINVAL, w => MigrateDevice.MigrateVmaSetup(w.Migrate(w.RwVma, w.Rw, w.Rw))),
        ["MigrateVmaSetup arrays too short"] = (Errno.EINVAL, w => MigrateDevice.MigrateVmaSetup(w.Migrate(w.RwVma, w.Rw, w.Rw + (2 * Page), entries: 1))),
        ["MigrateVmaSetup system fault page (wrong kind)"] = (Errno.EINVAL, w => MigrateDevice.MigrateVmaSetup(w.Migrate(w.RwVma, w.Rw, w.Rw + Page, w.Kernel.ZeroPage))),
        ["MigrateVmaSetup another owner's fault page"] = (Errno.EINVAL, w => MigrateDevice.MigrateVmaSetup(w.Migrate(w.RwVma, w.Rw, w.Rw + Page, w.LockedDevicePage(), owner: new object()))),
        ["MigrateDeviceRange system frames (wrong kind)"] = (Errno.EINVAL, w => MigrateDevice.MigrateDeviceRange(w.Kernel, new ulong[1], 1, 1)),
        ["MigrateDeviceRange past the pagemap"] = (Errno.EINVAL, w => MigrateDevice.MigrateDeviceRange(w.Kernel, new ulong[64], w.Device.Pagemap.PfnBase, 64)),
        ["MigrateDeviceRange src too short"] = (Errno.EINVAL, w => MigrateDevice.MigrateDeviceRange(w.Kernel, new ulong[1], w.Device.Pagemap.PfnBase, 2)),
        ["MigrateDeviceRange no pages"] = (Errno.EINVAL, w => MigrateDevice.MigrateDeviceRange(w.Kernel, new ulong[1], w.Device.Pagemap.PfnBase, 0)),
        ["MakeDeviceExclusive in a hole"] = (Errno.EFAULT, w => w.Exclusive(w.Hole)),
        ["MakeDeviceExclusive read-only"] = (Errno.EFAULT, w => w.Exclusive(w.Ro)),
        ["MakeDeviceExclusive shared memory (wrong kind)"] = (Errno.EOPNOTSUPP, w => w.Exclusive(w.Shared)),
        ["MemremapPages of system kind"] = (Errno.EINVAL, w => w.Remap(PageKind.System, 1)),
        ["MemremapPages of no pages"] = (Errno.EINVAL, w => w.Remap(PageKind.DevicePrivate, 0)),
        ["MemremapPages private with a CPU address"] = (Errno.EINVAL, w => w.Remap(PageKind.DevicePrivate, 1, cpuAddress: true)),
        ["MemremapPages coherent without a CPU address"] = (Errno.EINVAL, w => w.Remap(PageKind.DeviceCoherent, 1)),
        ["MemunmapPages of a pagemap in use"] = (Errno.EBUSY, w => w.Kernel.Memory.MemunmapPages(w.Device.Pagemap)),
        ["Notifier insert of no bytes"] = (Errno.EINVAL, w => w.Mm.Notifiers.Insert(w.Rw, 0, w.Device, out _)),
        ["Notifier insert wrapping"] = (Errno.EINVAL, w => w.Mm.Notifiers.Insert(ulong.MaxValue - Page, 2 * Page, w.Device, out _)),
    };

    public static TheoryData<string> Cases => [.. Table.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Is_refused_with_its_errno_and_changes_nothing(string name)
    {
        using var w = new World();
        var (expected, call) = Table[name];
        var vmas = w.Mm.SnapshotVmas().Select(v => v.ToString()).ToList();
        var frames = w.Kernel.FramesInUse;
        Assert.Equal(expected, call(w));
        Assert.Equal(vmas, w.Mm.SnapshotVmas().Select(v => v.ToString()));
        Assert.Equal(frames, w.Kernel.FramesInUse);
        Assert.Equal(Errno.Ok, w.Cpu.Read(w.Rw + 16, out long v));
        Assert.Equal(0x1234_5678_9abcL, v);
    }

    /// <summary>A mapped read-write page with data, a read-only page, a shared page, a hole, and a test mirror with one device page in use.</summary>
    private sealed unsafe class World : IDisposable
    {
        private readonly MmFixture _t = new();
        private readonly List<Folio> _locked = [];

        public World()
        {
            Rw = _t.Map(4);
            Ro = _t.Map(1, Prot.Read);
            Shared = _t.Map(1, flags: MmapFlags.Shared);
            Hole = _t.Map(1);
            Assert.Equal(Errno.Ok, Mm.Munmap(Hole, Page));
            Assert.Equal(Errno.Ok, Cpu.Write(Rw + 16, 0x1234_5678_9abcL));
            Assert.Equal(Errno.Ok, Cpu.Write(Shared, 1L));
            Device = new Dmirror(Kernel, Mm, 8);
            Assert.Equal(Errno.Ok, Device.MigrateToDevice(Rw + (3 * Page), 1));
            RwVma = Mm.FindVma(Rw)!;
        }

        public HostKernel Kernel => _t.Kernel;

        public AddressSpace Mm => _t.Mm;

        public CpuContext Cpu => _t.Cpu;

        public Dmirror Device { get; }

        public ulong Rw { get; }

        public ulong Ro { get; }

        public ulong Shared { get; }

        public ulong Hole { get; }

        public Vma RwVma { get; }

        public Errno Fault(ulong start, ulong end, ulong flags)
        {
            var range = new HmmRange { Notifier = Device.Notifier, Start = start, End = end, HmmPfns = new ulong[4], DefaultFlags = flags };
            range.NotifierSeq = range.Notifier.ReadBegin();
            Mm.MmapLock.DownRead();
            try
            {
                return HmmMirror.HmmRangeFault(range);
            }
            finally
            {
                Mm.MmapLock.UpRead();
            }
        }

        public MigrateVma Migrate(Vma? vma, ulong start, ulong end, Folio? faultPage = null, object? owner = null, int entries = 4) => new()
        {
            Vma = vma,
            Start = start,
            End = end,
            Src = new ulong[entries],
            Dst = new ulong[entries],
            PgmapOwner = owner ?? Device.Owner,
            Flags = faultPage is null ? MigrateVmaFlags.SelectSystem : MigrateVmaFlags.SelectDevicePrivate,
            FaultPage = faultPage,
        };

        /// <summary>The device page at <c>Rw + 3 pages</c>, locked as a fault's page is.</summary>
        public Folio LockedDevicePage()
        {
            var folio = Kernel.Memory.PfnToFolio(Mm.GetPte(Rw + (3 * Page)).Pfn);
            folio.Lock();
            _locked.Add(folio);
            return folio;
        }

        public Errno Exclusive(ulong addr)
        {
            Mm.MmapLock.DownRead();
            try
            {
                return DeviceExclusive.MakeDeviceExclusive(Mm, addr, Device.Owner, out _, out _);
            }
            finally
            {
                Mm.MmapLock.UpRead();
            }
        }

        public Errno Remap(PageKind kind, int pages, bool cpuAddress = false)
        {
            var bytes = stackalloc byte[(int)Page];
            return Kernel.Memory.MemremapPages(kind, pages, new object(), Device, cpuAddress ? bytes : null, out _);
        }

        public void Dispose()
        {
            _locked.ForEach(f => f.Unlock());
            Device.Remove();
            _t.Dispose();
        }
    }
}
