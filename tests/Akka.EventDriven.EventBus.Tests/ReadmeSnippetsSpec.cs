using System.Text.RegularExpressions;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Every ```csharp block of README.md is a copy of a compiled, run region of a test or sample, so it cannot
/// drift: the line before the block is <c>&lt;!-- snippet: path#region --&gt;</c> (path from the repository root; several
/// regions joined by <c>+</c> are shown one after another, separated by an empty line, e.g. the file's usings and then
/// the code; an item <c>path#region</c> after a <c>+</c> takes that region and the ones after it from another file), and
/// the block's text is the regions' text (each region without its common leading indentation, trailing whitespace
/// trimmed).</summary>
public sealed class ReadmeSnippetsSpec
{
    /// <summary>README blocks (by their first line) not yet taken from a region. The list may only shrink: an entry whose
    /// block got a marker, or no longer exists, fails <see cref="The_list_of_unbacked_blocks_only_shrinks"/>.</summary>
    internal static readonly string[] Unbacked =
    [
    ];

    [Fact]
    public void Every_csharp_block_of_the_readme_is_a_tested_region()
    {
        var root = RepositoryRoot();
        var problems = ReadmeSnippets.Check(File.ReadAllText(Path.Combine(root, "README.md")), root)
            .Where(p => !(p.Kind == ReadmeSnippets.ProblemKind.NoMarker && Unbacked.Contains(p.FirstLine)))
            .ToList();
        Assert.True(problems.Count == 0, string.Join("\n\n", problems.Select(p => p.Message)));
    }

    [Fact]
    public void The_list_of_unbacked_blocks_only_shrinks()
    {
        var root = RepositoryRoot();
        var unmarked = ReadmeSnippets.Check(File.ReadAllText(Path.Combine(root, "README.md")), root)
            .Where(p => p.Kind == ReadmeSnippets.ProblemKind.NoMarker).Select(p => p.FirstLine).ToHashSet();
        var stale = Unbacked.Where(u => !unmarked.Contains(u)).ToList();
        Assert.True(stale.Count == 0, "Backed now or gone from the README; remove from Unbacked: " + string.Join(" | ", stale));
    }

    [Fact]
    public void The_check_finds_a_block_without_marker_a_missing_file_or_region_and_a_changed_text()
    {
        var root = Directory.CreateTempSubdirectory("readme-snippets-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "Code.cs"), """
                #region usings
                using System;
                #endregion

                class C
                {
                    void M()
                    {
                        #region hello
                        var x = 1;   
                        if (x > 0)
                            Console.WriteLine(x);
                        #endregion
                    }
                }
                """);
            File.WriteAllText(Path.Combine(root, "Other.cs"), "#region other\n    var y = 2;\n#endregion\n");
            const string fence = "```";
            var readme = string.Join("\n",
                "text", "<!-- snippet: Code.cs#usings+hello -->", fence + "csharp", "using System;", "", "var x = 1;",
                "if (x > 0)", "    Console.WriteLine(x);", fence,
                "  <!-- snippet: Code.cs#hello -->", "  " + fence + "csharp", "  var x = 1;", "  if (x > 0)",
                "      Console.WriteLine(x);", "  " + fence,
                "<!-- snippet: Code.cs#hello+Other.cs#other -->", fence + "csharp", "var x = 1;", "if (x > 0)",
                "    Console.WriteLine(x);", "", "var y = 2;", fence);
            Assert.Empty(ReadmeSnippets.Check(readme, root));

            var problems = ReadmeSnippets.Check(string.Join("\n",
                fence + "csharp", "var unmarked = 1;", fence,
                "<!-- snippet: Missing.cs#hello -->", fence + "csharp", "var x = 1;", fence,
                "<!-- snippet: Code.cs#nope -->", fence + "csharp", "var x = 1;", fence,
                "<!-- snippet: Code.cs#hello -->", fence + "csharp", "var x = 2;", "if (x > 0)", "    Console.WriteLine(x);", fence,
                "<!-- snippet: Code.cs#hello -->", fence + "bash", "echo not csharp", fence), root);
            Assert.Equal(
                [ReadmeSnippets.ProblemKind.NoMarker, ReadmeSnippets.ProblemKind.NoFile, ReadmeSnippets.ProblemKind.NoRegion,
                    ReadmeSnippets.ProblemKind.Differs],
                problems.Select(p => p.Kind));
            Assert.Equal("var unmarked = 1;", problems[0].FirstLine);
            Assert.Contains("at line 1: README has 'var x = 2;', region has 'var x = 1;'", problems[3].Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The directory holding Akka.EventDriven.sln, above the test's output directory.</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Akka.EventDriven.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Akka.EventDriven.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>Compares the README's C# blocks with the regions their markers name.</summary>
internal static partial class ReadmeSnippets
{
    public enum ProblemKind { NoMarker, NoFile, NoRegion, Differs }

    public sealed record Problem(ProblemKind Kind, int Line, string FirstLine, string Message);

    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*(?<spec>[^#\s]+#\S+)\s*-->\s*$")]
    private static partial Regex Marker();

    [GeneratedRegex(@"^(?<indent>\s*)```csharp\s*$")]
    private static partial Regex CsharpFence();

    [GeneratedRegex(@"^\s*```")]
    private static partial Regex AnyFence();

    public static List<Problem> Check(string readme, string root)
    {
        var lines = readme.Replace("\r\n", "\n").Split('\n');
        var problems = new List<Problem>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = CsharpFence().Match(lines[i]);
            if (!fence.Success)
            {
                if (AnyFence().IsMatch(lines[i])) i = SkipBlock(lines, i); // a bash or hocon block: not C#, not checked
                continue;
            }
            var indent = fence.Groups["indent"].Value.Length;
            var block = new List<string>();
            var end = i + 1;
            for (; end < lines.Length && !AnyFence().IsMatch(lines[end]); end++)
                block.Add(lines[end].Length >= indent ? lines[end][indent..] : lines[end].TrimStart());
            var text = Normalize(block);
            var first = text.FirstOrDefault(l => l.Length > 0) ?? "";
            var where = $"README.md line {i + 1} (block starting '{first}')";
            var marker = i > 0 ? Marker().Match(lines[i - 1]) : Match.Empty;
            if (!marker.Success)
            {
                problems.Add(new(ProblemKind.NoMarker, i + 1, first,
                    $"{where}: no '<!-- snippet: path#region -->' line before it. Put the code in a #region of a test that runs it and name that region."));
            }
            else
            {
                var problem = Compare(root, marker.Groups["spec"].Value, text, i + 1, first, where);
                if (problem is not null) problems.Add(problem);
            }
            i = end;
        }
        return problems;
    }

    private static int SkipBlock(string[] lines, int start)
    {
        var end = start + 1;
        while (end < lines.Length && !AnyFence().IsMatch(lines[end])) end++;
        return end;
    }

    private static Problem? Compare(string root, string spec, List<string> block, int line, string first, string where)
    {
        var expected = new List<string>();
        var path = "";
        string[] source = [];
        foreach (var item in spec.Split('+'))
        {
            var name = item;
            if (item.Contains('#'))
            {
                (path, name) = (item[..item.IndexOf('#')], item[(item.IndexOf('#') + 1)..]);
                var file = Path.Combine(root, path.Replace('/', Path.DirectorySeparatorChar));
                if (!File.Exists(file))
                    return new(ProblemKind.NoFile, line, first, $"{where}: its snippet file {path} does not exist.");
                source = File.ReadAllText(file).Replace("\r\n", "\n").Split('\n');
            }
            var region = Region(source, name);
            if (region is null)
                return new(ProblemKind.NoRegion, line, first, $"{where}: {path} has no '#region {name}' closed by '#endregion'.");
            if (expected.Count > 0) expected.Add("");
            expected.AddRange(region);
        }
        if (expected.SequenceEqual(block)) return null;
        var at = Enumerable.Range(0, Math.Max(expected.Count, block.Count))
            .First(k => k >= expected.Count || k >= block.Count || expected[k] != block[k]);
        string Show(List<string> l) => at < l.Count ? $"'{l[at]}'" : "nothing";
        return new(ProblemKind.Differs, line, first,
            $"{where} differs from {spec} at line {at + 1}: README has {Show(block)}, region has {Show(expected)}.\n" +
            "The region, as the README must show it:\n" + string.Join("\n", expected));
    }

    /// <summary>The lines between '#region name' and its '#endregion' (nested regions' own lines left out), without
    /// their common leading indentation.</summary>
    private static List<string>? Region(string[] source, string name)
    {
        var start = Array.FindIndex(source, l => l.Trim() == $"#region {name}");
        if (start < 0) return null;
        var body = new List<string>();
        var depth = 0;
        for (var k = start + 1; k < source.Length; k++)
        {
            var trimmed = source[k].Trim();
            if (trimmed.StartsWith("#region")) { depth++; continue; }
            if (trimmed.StartsWith("#endregion"))
            {
                if (depth-- == 0) return Normalize(Dedent(body));
                continue;
            }
            body.Add(source[k]);
        }
        return null;
    }

    private static List<string> Dedent(List<string> lines)
    {
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return lines.Select(l => l.Trim().Length == 0 ? "" : l[indent..]).ToList();
    }

    /// <summary>Trailing whitespace trimmed from every line, and leading and trailing empty lines dropped.</summary>
    private static List<string> Normalize(IEnumerable<string> lines)
    {
        var list = lines.Select(l => l.TrimEnd()).ToList();
        while (list.Count > 0 && list[0].Length == 0) list.RemoveAt(0);
        while (list.Count > 0 && list[^1].Length == 0) list.RemoveAt(list.Count - 1);
        return list;
    }
}
