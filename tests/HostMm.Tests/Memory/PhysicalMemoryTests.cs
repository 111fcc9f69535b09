using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Tests.Memory;

public sealed class PhysicalMemoryTests
{
    private static PhysicalMemory Make(long bytes, int pageSize = 4096) => new(new SyncDomain(validate: true), bytes, pageSize);

    [Fact]
    public unsafe void Arena_is_aligned_to_the_largest_folio_and_split_into_max_order_blocks()
    {
        using var mem = Make(8L << 20);
        Assert.Equal(0, (long)mem.Base % (4096L << PhysicalMemory.MaxOrder));
        Assert.Equal(2048, mem.TotalFrames);
        Assert.Equal(2048, mem.FreeFrames);
        Assert.Equal(4, mem.FreeBlocks(PhysicalMemory.MaxOrder));
    }

    [Fact]
    public void Splitting_and_merging_buddies_restores_the_free_lists()
    {
        using var mem = Make(2L << 20);
        var a = mem.AllocFolio()!;
        Assert.Equal(0, mem.FreeBlocks(PhysicalMemory.MaxOrder));
        Assert.Equal(511, mem.FreeFrames);
        for (var o = 0; o < PhysicalMemory.MaxOrder; o++)
        {
            Assert.Equal(1, mem.FreeBlocks(o));
        }

        var b = mem.AllocFolio()!;
        Assert.Equal(a.Pfn ^ 1, b.Pfn);
        a.Put();
        b.Put();
        Assert.Equal(1, mem.FreeBlocks(PhysicalMemory.MaxOrder));
        Assert.Equal(512, mem.FreeFrames);
    }

    [Fact]
    public unsafe void Large_folio_is_naturally_aligned_and_its_tail_frames_resolve_to_the_head()
    {
        using var mem = Make(8L << 20);
        var small = mem.AllocFolio()!;
        var thp = mem.AllocFolio(PhysicalMemory.MaxOrder)!;
        Assert.Equal(0, thp.Pfn % 512);
        Assert.Equal(512, thp.NrPages);
        Assert.Same(thp, mem.PfnToFolio(thp.Pfn + 300));
        Assert.Equal(2L << 20, thp.Bytes.Length);
        Assert.True(thp.Bytes.IndexOfAnyExcept((byte)0) < 0);
        thp.Put();
        Assert.NotSame(thp, mem.PfnToFolio(thp.Pfn + 300));
        Assert.Equal(thp.Pfn + 300, mem.PfnToFolio(thp.Pfn + 300).Pfn);
        small.Put();
        Assert.Equal(mem.TotalFrames, mem.FreeFrames);
    }

    [Fact]
    public void Exhaustion_returns_null_and_loses_nothing()
    {
        using var mem = Make(1L << 20);
        var all = new List<Folio>();
        while (mem.AllocFolio() is { } f)
        {
            all.Add(f);
        }

        Assert.Equal(256, all.Count);
        Assert.Null(mem.AllocFolio(3));
        Assert.Equal(256, all.Select(f => f.Pfn).Distinct().Count());
        all.ForEach(f => f.Put());
        Assert.Equal(256, mem.FreeFrames);
    }

    [Fact]
    public unsafe void Allocation_zeroes_reused_frames_unless_asked_not_to()
    {
        using var mem = Make(2L << 20, pageSize: 16384);
        var f = mem.AllocFolio()!;
        Assert.Equal(16384, f.Bytes.Length);
        f.Bytes.Fill(0xAB);
        var pfn = f.Pfn;
        f.Put();
        var again = mem.AllocFolio()!;
        Assert.Equal(pfn, again.Pfn);
        Assert.True(again.Bytes.IndexOfAnyExcept((byte)0) < 0);
        again.Bytes.Fill(0xCD);
        again.Put();
        var raw = mem.AllocFolio(zero: false)!;
        Assert.Equal(0xCD, raw.Bytes[100]);
        raw.Put();
    }

    [Fact]
    public void Refcount_frees_on_the_last_put_and_rejects_misuse()
    {
        using var mem = Make(1L << 20);
        var f = mem.AllocFolio()!;
        f.Get();
        Assert.Equal(2, f.RefCount);
        f.Put();
        Assert.False(f.IsFree);
        f.Put();
        Assert.True(f.IsFree);
        Assert.False(f.TryGet());
        Assert.Throws<InvalidOperationException>(f.Get);
    }

    [Theory]
    [InlineData(1000, 4096)]
    [InlineData(4096, 3000)]
    [InlineData(0, 4096)]
    [InlineData(4096, 131072)]
    public void Bad_geometry_is_rejected_with_the_argument_named(long bytes, int pageSize)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Make(bytes, pageSize));
        Assert.Contains("PhysicalMemory", e.Message);
    }
}
