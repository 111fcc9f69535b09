namespace Testbed.Cli;

/// <summary>
/// The files a command writes when it ends (<c>--json</c>, <c>--html</c>), checked before anything
/// runs, so a long run does not end in "access denied" or one output overwriting the other: no two
/// options may name the same file, and each must be writable (opened for writing, and removed again if
/// the check created it). Writing them at the end reports a failure as one line.
/// </summary>
internal sealed class OutputFiles
{
    private readonly List<(string Option, string Path)> _files = [];

    /// <summary>Adds the file <paramref name="path"/> names for <paramref name="option"/>, if any.</summary>
    public OutputFiles Add(string option, string? path)
    {
        if (path is not null)
        {
            _files.Add((option, Path.GetFullPath(path)));
        }

        return this;
    }

    /// <summary>Null when every file can be written, else what is wrong, in one line.</summary>
    public string? Problem()
    {
        foreach (var group in _files.GroupBy(f => f.Path, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            return $"{string.Join(" and ", group.Select(f => f.Option))} name the same file, {group.Key}";
        }

        foreach (var (option, path) in _files)
        {
            var existed = File.Exists(path);
            try
            {
                using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write))
                {
                }

                if (!existed)
                {
                    File.Delete(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"{option}: {path} cannot be written: {e.Message}";
            }
        }

        return null;
    }
}
