namespace Testbed.Kernels;

/// <summary>What a device backend needs of an <see cref="ArrayView{T}"/> argument, whatever its element type.</summary>
internal interface IArrayView
{
    MemoryBuffer? Buffer { get; }

    long Offset { get; }

    long Length { get; }

    int ElementSize { get; }
}
