namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// One workload of the mirror kernel (<see cref="MirrorWorkload.DeviceOps"/>), passed to it by value:
/// <see cref="Items"/> work items each perform <see cref="OpsPerItem"/> operations; operation
/// <c>k</c> of item <c>i</c> targets the 32-bit word <c>FirstWord + ((i + k * Items) * Stride) mod Span</c>
/// of the mirrored range. The same formula on the host gives the expected result, so totals can be
/// checked exactly.
/// </summary>
public readonly record struct DeviceWork(int Op, int Items, int OpsPerItem, long FirstWord, long Span, long Stride, int Value)
{
    /// <summary>Operation: atomic add of <see cref="Value"/>.</summary>
    public const int OpAdd = 0;

    /// <summary>Operation: load into the data buffer.</summary>
    public const int OpLoad = 1;

    /// <summary>Operation: store from the data buffer.</summary>
    public const int OpStore = 2;

    /// <summary>Atomic adds of <paramref name="value"/>.</summary>
    public static DeviceWork Adds(int items, int opsPerItem, long firstWord, long span, long stride, int value = 1) =>
        new(OpAdd, items, opsPerItem, firstWord, span, stride, value);

    /// <summary>The word operation <paramref name="k"/> of item <paramref name="i"/> targets.</summary>
    public long Target(int i, int k) => FirstWord + ((((long)i + ((long)k * Items)) * Stride) % Span);

    /// <summary>Total operations.</summary>
    public long TotalOps => (long)Items * OpsPerItem;
}
