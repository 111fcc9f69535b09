using Testbed.Kernels.Algorithms;

namespace Testbed.Kernels.Tests;

/// <summary>Reduce, exclusive scan, compaction and radix sort on every available backend, against LINQ.</summary>
public sealed class AlgorithmTests
{
    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Reduce_sums_past_32_bits(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var values = Enumerable.Range(0, 100_003).Select(i => (long)i * 70_001).ToArray();
        using var input = acc.Allocate1D(values);
        Assert.Equal(values.Sum(), acc.Reduce(input.View));
        using var empty = acc.Allocate1D<long>(0);
        Assert.Equal(0, acc.Reduce(empty.View));
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Exclusive_scan_matches_a_sequential_scan(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        foreach (var n in new[] { 1, 7, 1024, 10_007 })
        {
            var values = Enumerable.Range(0, n).Select(i => (i * 37) % 11).ToArray();
            using var input = acc.Allocate1D(values);
            using var output = acc.Allocate1D<int>(n);
            acc.ExclusiveScan(input.View, output.View);
            var expected = new int[n];
            for (var i = 1; i < n; i++)
            {
                expected[i] = expected[i - 1] + values[i - 1];
            }

            Assert.Equal(expected, output.GetAsArray1D());
        }
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Compaction_keeps_non_zero_values_in_order(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var values = Enumerable.Range(0, 10_000).Select(i => i % 3 == 0 ? 0 : i).ToArray();
        using var input = acc.Allocate1D(values);
        using var output = acc.Allocate1D<int>(values.Length);
        var kept = acc.Compact(input.View, output.View);
        var expected = values.Where(v => v != 0).ToArray();
        Assert.Equal(expected.Length, kept);
        Assert.Equal(expected, output.GetAsArray1D()[..kept]);
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Radix_sort_sorts_32_and_64_bit_keys(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var random = new Random(4);
        var keys32 = Enumerable.Range(0, 20_000).Select(_ => (uint)random.NextInt64(0, 1L << 32)).ToArray();
        using var k32 = acc.Allocate1D(keys32);
        acc.RadixSort(k32.View);
        Assert.Equal(keys32.Order(), k32.GetAsArray1D());

        var keys64 = Enumerable.Range(0, 5_000).Select(_ => ((ulong)random.NextInt64() << 1) | (uint)random.Next(2)).ToArray();
        using var k64 = acc.Allocate1D(keys64);
        acc.RadixSort(k64.View);
        Assert.Equal(keys64.Order(), k64.GetAsArray1D());

        using var one = acc.Allocate1D(new uint[] { 5 });
        acc.RadixSort(one.View);
        Assert.Equal([5u], one.GetAsArray1D());
    }

    [Fact]
    public void Too_small_outputs_are_rejected()
    {
        using var acc = Backends.Create(AcceleratorType.Cpu);
        using var big = acc.Allocate1D<int>(10);
        using var small = acc.Allocate1D<int>(5);
        Assert.Throws<ArgumentException>(() => acc.ExclusiveScan(big.View, small.View));
        Assert.Throws<ArgumentException>(() => acc.Compact(big.View, small.View));
    }
}
