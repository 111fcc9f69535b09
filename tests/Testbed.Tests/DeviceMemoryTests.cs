using Testbed.Driver;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;

namespace Testbed.Tests;

/// <summary>The driver's device frame allocator: batches, running out, and frames given back.</summary>
public sealed class DeviceMemoryTests
{
    /// <summary>
    /// The driver reuses one frame array for every batch. A batch that runs out of frames must leave
    /// the rest of the array empty: an entry still holding an earlier batch's frame number was taken
    /// a second time (the stress scenario's "ZoneDeviceFolioInit: pfn … is not a free frame", and
    /// frames leaked locked).
    /// </summary>
    /// <summary>
    /// A CPU touch of a device page when no system page is free: <c>MigrateToRam</c> fails the fault
    /// with -ENOMEM, as nouveau answers a failed allocation with SIGBUS, rather than reporting success
    /// with the page still on the device, which made the CPU retry the fault for ever (the false
    /// livelock of <c>pingpong --pages 20000</c> in 64 MiB). Once memory is free the page comes back
    /// with its data.
    /// </summary>
    [Fact]
    public async Task A_CPU_fault_with_no_free_system_page_fails_with_ENOMEM_and_loses_nothing()
    {
        using var f = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 2L << 20);
        var va = f.Map(4);
        f.CpuWrite(va, [.. Enumerable.Range(1, 4 * f.WordsPerPage)]);
        var mirror = f.Mirror(va, 4, options: new MirrorOptions { DevicePages = 16, ChunkPages = 4 });
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 4));
        var filler = f.Map(1024);
        var touched = 0;
        while (f.Cpu.Write(filler + ((ulong)touched * (ulong)f.PageSize), 7) == Errno.Ok)
        {
            touched++;
        }

        Assert.InRange(touched, 1, 1023);
        var read = Task.Run(() =>
        {
            using var cpu = new CpuContext(f.Mm);
            return cpu.Read(va + sizeof(int), out int _);
        });
        Assert.Equal(Errno.ENOMEM, await read.WaitAsync(TimeSpan.FromSeconds(10))); // a TimeoutException: the fault was retried for 10 s

        Assert.Equal(Errno.Ok, f.Mm.Munmap(filler, 1024UL * (ulong)f.PageSize));
        Assert.Equal([.. Enumerable.Range(1, 4 * f.WordsPerPage)], f.CpuRead(va, 4 * f.WordsPerPage));
    }

    [Fact]
    public void A_batch_that_runs_out_of_frames_leaves_the_rest_of_a_reused_array_empty()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var ops = new GiveBack();
        Assert.Equal(Errno.Ok, DeviceMemory.Create(t.Runner, t.Kernel.Memory, PageKind.DevicePrivate, pages: 16, chunkPages: 16, owner: ops, ops, out var memory));
        ops.Memory = memory!;
        var frames = new long[16];
        Assert.Equal(16, memory!.Alloc(frames));
        Assert.Equal(0, memory.FreePages);
        foreach (var frame in frames.Take(4))
        {
            var folio = memory.Folio(frame);
            folio.Unlock();
            folio.Put();
        }

        Assert.Equal(4, memory.FreePages);
        Assert.Equal(4, memory.Alloc(frames));
        Assert.Equal(4, frames.Count(f => f >= 0));
        Assert.All(frames.Skip(4), f => Assert.Equal(-1, f));
        Assert.Equal(16, memory.Pagemap.FramesInUse);
        for (var frame = 0; frame < 16; frame++)
        {
            var folio = memory.Folio(frame);
            Assert.Equal(1, folio.RefCount);
            folio.Unlock();
            folio.Put();
        }

        Assert.Equal(16, memory.FreePages);
        Assert.Equal(Errno.Ok, memory.Unregister());
    }

    private sealed class GiveBack : IDevPagemapOps
    {
        public DeviceMemory Memory { get; set; } = null!;

        public Errno MigrateToRam(in VmFault vmf) => Errno.Ok;

        public void FolioFree(Folio folio) => Memory.Free(folio);
    }
}
