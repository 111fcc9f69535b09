using Testbed.Driver;
using Testbed.HostMm;
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
