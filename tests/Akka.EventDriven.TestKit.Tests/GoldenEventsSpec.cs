using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit.Tests;

// Three generations of one event, as a team would write them over time.
public sealed record CaseOpenedV1(string Title, int Priority);
public sealed record CaseOpenedRenamed(string Name, int Priority);        // a rename: same shape name, new JSON
public sealed record CaseOpenedV2(string Title, string Priority, DateTimeOffset At);

public sealed class GoldenEventsSpec : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"golden-{Guid.NewGuid():N}", "golden-events.json");

    public void Dispose()
    {
        if (Directory.Exists(Path.GetDirectoryName(_file))) Directory.Delete(Path.GetDirectoryName(_file)!, recursive: true);
    }

    private static MessageTypeRegistry V1() => new MessageTypeRegistry().Register<CaseOpenedV1>("case.opened", 1);

    [Fact]
    public void The_check_passes_when_the_shapes_are_as_recorded()
    {
        GoldenEvents.Verify(V1(), _file, update: true);
        Assert.Equal("""{"case.opened.v1":{"priority":"number","title":"string"}}""", JsonNode.Parse(File.ReadAllText(_file))!.ToJsonString());
        GoldenEvents.Verify(V1(), _file, update: false);
    }

    [Fact]
    public void A_shape_change_without_a_new_version_fails_naming_the_member()
    {
        GoldenEvents.Verify(V1(), _file, update: true);
        var renamed = new MessageTypeRegistry().Register<CaseOpenedRenamed>("case.opened", 1);
        var failure = Assert.Throws<EventDrivenAssertionException>(() => GoldenEvents.Verify(renamed, _file, update: false));
        Assert.Contains("case.opened.v1 changed its JSON shape without a new version ($.title: was \"string\", now member is missing)", failure.Message);
        Assert.Contains("give the type a new version and an upcaster from the old one", failure.Message);
    }

    [Fact]
    public void A_new_version_with_an_upcaster_passes_and_without_one_fails_because_old_events_become_unreadable()
    {
        GoldenEvents.Verify(V1(), _file, update: true);
        var v2 = () => new MessageTypeRegistry().Register<CaseOpenedV2>("case.opened", 2);

        var noUpcaster = Assert.Throws<EventDrivenAssertionException>(() => GoldenEvents.Verify(v2(), _file, update: false));
        Assert.Contains("case.opened.v2 is not in the golden file yet (new type)", noUpcaster.Message);
        Assert.Contains("case.opened.v1 (in the golden file, no longer registered) can no longer be read", noUpcaster.Message);

        var upcast = v2().AddUpcaster("case.opened", 1, v1 => new JsonObject
        {
            ["title"] = v1["title"]!.GetValue<string>(), ["priority"] = v1["priority"]!.GetValue<int>() > 5 ? "high" : "low",
            ["at"] = "2000-01-01T00:00:00+00:00",
        });
        GoldenEvents.Verify(upcast, _file, update: true);    // accept v2; v1 stays in the file
        Assert.Contains("case.opened.v1", File.ReadAllText(_file));
        GoldenEvents.Verify(upcast, _file, update: false);
    }

    [Fact]
    public void A_missing_golden_file_fails_with_how_to_create_it()
    {
        var failure = Assert.Throws<EventDrivenAssertionException>(() => GoldenEvents.Verify(V1(), _file, update: false));
        Assert.Contains("does not exist", failure.Message);
        Assert.Contains("Write it with UPDATE_GOLDEN_EVENTS=1 and commit it", failure.Message);
    }
}
