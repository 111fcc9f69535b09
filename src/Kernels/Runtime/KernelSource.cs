namespace Testbed.Kernels;

/// <summary>
/// What the source generator produced for one <see cref="KernelAttribute"/> method: the OpenCL C
/// and CUDA C translations (each with the device functions it calls) and the entry point's name.
/// The generated kernel takes the extent first, then each argument, an <see cref="ArrayView{T}"/>
/// as a pointer followed by its length.
/// </summary>
public sealed record KernelSource(Type DeclaringType, string MethodName, string EntryPoint, string OpenCl, string Cuda)
{
    /// <summary>The translation for <paramref name="type"/> (Cpu has none: it runs the C# method).</summary>
    public string For(AcceleratorType type) => type switch
    {
        AcceleratorType.OpenCl => OpenCl,
        AcceleratorType.Cuda => Cuda,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "KernelSource: the Cpu accelerator runs the C# method; only OpenCl and Cuda have generated source."),
    };
}
