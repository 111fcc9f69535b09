using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Cpu;

public sealed class CpuContextTests
{
    [Fact]
    public void Scalars_of_every_size_round_trip_little_endian()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, (byte)0x11));
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + 2, (ushort)0x2233));
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + 4, 0x44556677u));
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + 8, 0x0102030405060708UL));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out ulong word));
        Assert.Equal(0x4455667722330011UL, word);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 8, out byte low));
        Assert.Equal(0x08, low);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 2, out ushort half));
        Assert.Equal(0x2233, half);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 12, out int upper));
        Assert.Equal(0x01020304, upper);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(16384)]
    public void Spans_and_unaligned_scalars_cross_page_boundaries(int pageSize)
    {
        using var t = new MmFixture(pageSize: pageSize);
        var a = t.Map(3);
        var data = Enumerable.Range(0, (2 * pageSize) + 100).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(Errno.Ok, t.Cpu.WriteBytes(a + 50, data));
        var back = new byte[data.Length];
        Assert.Equal(Errno.Ok, t.Cpu.ReadBytes(a + 50, back));
        Assert.Equal(data, back);
        Assert.Equal(3, t.Mm.Rss.AnonPages);

        var edge = a + (ulong)pageSize - 3;
        Assert.Equal(Errno.Ok, t.Cpu.Write(edge, 0x1122334455667788L));
        Assert.Equal(Errno.Ok, t.Cpu.Read(edge, out long v));
        Assert.Equal(0x1122334455667788L, v);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + (ulong)pageSize, out byte b));
        Assert.Equal(0x55, b);
    }

    [Fact]
    public void Span_that_runs_off_the_mapping_fails_after_the_mapped_part()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        var data = new byte[6000];
        Array.Fill(data, (byte)9);
        Assert.Equal(Errno.EFAULT, t.Cpu.WriteBytes(a + 100, data));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 4095, out byte last));
        Assert.Equal(9, last);
    }

    [Fact]
    public void Atomics_return_what_interlocked_returns()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.AtomicAdd(a, 5, out int sum));
        Assert.Equal(5, sum);
        Assert.Equal(Errno.Ok, t.Cpu.Exchange(a, 9, out int old));
        Assert.Equal(5, old);
        Assert.Equal(Errno.Ok, t.Cpu.CompareExchange(a, 1, 8, out old));
        Assert.Equal(9, old);
        Assert.Equal(Errno.Ok, t.Cpu.CompareExchange(a, 1, 9, out old));
        Assert.Equal(9, old);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int now));
        Assert.Equal(1, now);

        Assert.Equal(Errno.Ok, t.Cpu.AtomicAdd(a + 8, (long)uint.MaxValue + 2, out long big));
        Assert.Equal((long)uint.MaxValue + 2, big);
        Assert.Equal(Errno.Ok, t.Cpu.Exchange(a + 8, -1L, out long oldBig));
        Assert.Equal((long)uint.MaxValue + 2, oldBig);
        Assert.Equal(Errno.Ok, t.Cpu.CompareExchange(a + 8, 3L, -1L, out oldBig));
        Assert.Equal(-1L, oldBig);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 8, out long nowBig));
        Assert.Equal(3L, nowBig);
    }

    [Fact]
    public void Misaligned_atomics_are_EINVAL_and_touch_nothing()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        Assert.Equal(Errno.EINVAL, t.Cpu.AtomicAdd(a + 2, 1, out int _));
        Assert.Equal(Errno.EINVAL, t.Cpu.AtomicAdd(a + 4, 1L, out long _));
        Assert.Equal(Errno.EINVAL, t.Cpu.Exchange(a + 1, 1, out int _));
        Assert.Equal(Errno.EINVAL, t.Cpu.CompareExchange(a + 12, 1L, 0L, out long _));
        Assert.Equal(PteKind.None, t.Mm.GetPte(a).Kind);
    }

    [Fact]
    public void Compare_exchange_needs_write_permission_even_when_it_would_fail()
    {
        using var t = new MmFixture();
        var a = t.Map(1, Prot.Read);
        Assert.Equal(Errno.EFAULT, t.Cpu.CompareExchange(a, 1, 12345, out int _));
    }

    [Fact]
    public void Oversized_scalars_are_a_programming_error()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        var e = Assert.Throws<ArgumentException>(() => t.Cpu.Read(a, out decimal _));
        Assert.Contains("ReadBytes", e.Message);
    }

    [Fact]
    public void A_write_fill_sets_the_dirty_bit_and_a_read_fill_only_the_accessed_bit()
    {
        using var t = new MmFixture();
        var a = t.Map(1, flags: MmapFlags.Shared);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int _));
        var pte = t.Mm.GetPte(a);
        Assert.True(pte.Young);
        Assert.False(pte.Dirty);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 1));
        Assert.True(t.Mm.GetPte(a).Dirty);
        Assert.Equal(2, t.Cpu.TlbMisses);
    }
}
