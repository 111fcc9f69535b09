using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ComparisonOperations;
using ILGPU.Algorithms.RadixSortOperations;
using ILGPU.Runtime;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Algorithms;

/// <summary>
/// Prepares a fault batch where the device recorded it, as UVM prepares its batch (sorted by address,
/// one fault per page with the strongest access), but on the device with ILGPU.Algorithms: a radix
/// sort, then a unique pass, so only the distinct faults cross back to the host. The records are
/// <c>page * 4 + access</c>; their access bits are flipped around the sort
/// (<see cref="AlgorithmKernels.FlipAccess"/>) so that the strongest access of a page sorts first and is
/// the one the unique pass keeps. The sort's and the pass's delegates and scratch memory are made once,
/// for the largest batch. Needs a runner that runs ILGPU.Algorithms.
/// </summary>
public sealed class DeviceFaultSorter : IDisposable
{
    private readonly KernelRunner _runner;
    private readonly RadixSort<int, Stride1D.Dense> _sort;
    private readonly Unique<int> _unique;
    private readonly Action<Index1D, ArrayView<int>> _flip;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _sortScratch;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _uniqueScratch;
    private readonly MemoryBuffer1D<long, Stride1D.Dense> _count;

    /// <summary>A sorter for batches of up to <paramref name="capacity"/> records on <paramref name="runner"/>.</summary>
    public DeviceFaultSorter(KernelRunner runner, int capacity)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (!runner.RunsAlgorithms)
        {
            throw new NotSupportedException($"DeviceFaultSorter: ILGPU.Algorithms do not run on {runner.Kind.Name()}; the host sorts there.");
        }

        _runner = runner;
        var accelerator = runner.Accelerator;
        _sort = accelerator.CreateRadixSort<int, Stride1D.Dense, AscendingInt32>();
        _unique = accelerator.CreateUnique<int, SamePage>();
        _flip = runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(AlgorithmKernels.FlipAccess);
        _sortScratch = runner.Allocate1D<int>(accelerator.ComputeRadixSortTempStorageSize<int, AscendingInt32>(capacity));
        _uniqueScratch = runner.Allocate1D<int>(accelerator.ComputeUniqueTempStorageSize<int>(capacity));
        _count = runner.Allocate1D<long>(1);
        Capacity = capacity;
    }

    /// <summary>The largest batch.</summary>
    public int Capacity { get; }

    /// <summary>
    /// Sorts <paramref name="records"/> by page and keeps, in place at its start, one record per page
    /// with the strongest access; returns how many remain.
    /// </summary>
    public int SortUnique(ArrayView<int> records)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(records.Length, Capacity);
        if (records.Length <= 1)
        {
            return (int)records.Length;
        }

        var stream = _runner.Accelerator.DefaultStream;
        _flip(records.IntLength, records);
        _sort(stream, records, _sortScratch.View);
        _unique(stream, records, _count.View, _uniqueScratch.View);
        Span<long> count = stackalloc long[1];
        _runner.CopyToCPU<long>(_count.View, count);
        var distinct = (int)count[0];
        _flip(distinct, records.SubView(0, distinct));
        _runner.Synchronize();
        return distinct;
    }

    /// <summary>Frees the scratch memory.</summary>
    public void Dispose()
    {
        _sortScratch.Dispose();
        _uniqueScratch.Dispose();
        _count.Dispose();
    }

    /// <summary>Records of the same page compare equal: what the unique pass coalesces.</summary>
    private readonly struct SamePage : IComparisonOperation<int>
    {
        public int Compare(int first, int second)
        {
            var a = first >> 2;
            var b = second >> 2;
            return a < b ? -1 : a > b ? 1 : 0;
        }
    }
}
