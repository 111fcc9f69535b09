namespace Testbed.Kernels;

/// <summary>A one-dimensional index or extent, as in ILGPU: the work item's position in the launch.</summary>
public readonly record struct Index1D(int X)
{
    /// <summary>The index as an int.</summary>
    public static implicit operator int(Index1D index) => index.X;

    /// <summary>An extent of <paramref name="x"/> items.</summary>
    public static implicit operator Index1D(int x) => new(x);
}
