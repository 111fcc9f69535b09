using Microsoft.Coyote.Specifications;

namespace Testbed.Explore;

/// <summary>A safety check of a schedule: fails it with <c>message</c> (Coyote's assertion formats its message, so braces are escaped).</summary>
public static class ExploreAssert
{
    /// <summary>Fails the schedule with <paramref name="message"/> unless <paramref name="condition"/> holds.</summary>
    public static void That(bool condition, string message)
    {
        if (!condition)
        {
            Specification.Assert(false, message.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal));
        }
    }
}
