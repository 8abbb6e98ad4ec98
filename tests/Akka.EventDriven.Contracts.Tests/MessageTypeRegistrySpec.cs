using System.Text;
using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Contracts.Tests;

public sealed class MessageTypeRegistrySpec
{
    private sealed record Started(string Title);
    private sealed record ScoredV1(int Score);
    private sealed record ScoredV3(double Score, string Scale);
    [EventType("marked.thing", 4)] private sealed record Marked(string Id);
    private sealed record NotRegistered(string X);

    [Fact]
    public void Registered_type_round_trips_under_its_stable_name_not_its_clr_name()
    {
        var registry = new MessageTypeRegistry().Register<Started>("investigation.started");
        var bytes = registry.Serialize(new Started("APT29"), out var manifest);

        Assert.Equal("investigation.started.v1", manifest);
        Assert.DoesNotContain(nameof(Started), Encoding.UTF8.GetString(bytes));
        Assert.Equal(new Started("APT29"), registry.Deserialize(bytes, manifest));
    }

    [Fact]
    public void Old_versions_are_upcast_through_the_chain_to_the_newest()
    {
        var registry = new MessageTypeRegistry()
            .Register<ScoredV3>("risk.scored", 3)
            .AddUpcaster("risk.scored", 1, v1 => new JsonObject { ["score"] = v1["score"]!.GetValue<int>() * 10 })
            .AddUpcaster("risk.scored", 2, v2 => new JsonObject { ["score"] = v2["score"]!.GetValue<int>() / 100.0, ["scale"] = "unit" });

        var stored = Encoding.UTF8.GetBytes("""{"score":7}""");
        Assert.Equal(new ScoredV3(0.7, "unit"), registry.Deserialize(stored, "risk.scored.v1"));
    }

    [Fact]
    public void An_old_version_without_upcaster_is_read_into_its_own_type_if_that_is_still_registered()
    {
        var registry = new MessageTypeRegistry().Register<ScoredV1>("risk.scored", 1).Register<ScoredV3>("risk.scored", 3);
        Assert.Equal(new ScoredV1(5), registry.Deserialize("""{"score":5}"""u8, "risk.scored.v1"));
    }

    [Theory]
    [InlineData("investigation.closed.v1", "no type is registered under this name")]
    [InlineData("risk.scored.v9", "newer than the newest registered version")]
    [InlineData("risk.scored.v2", "no upcaster chain")]
    [InlineData("System.IO.FileInfo, System.Runtime", "not of the form")]
    [InlineData("System.Diagnostics.Process.v1", "no type is registered")]
    public void Unknown_type_names_fail_with_an_error_naming_the_type(string manifest, string why)
    {
        var registry = new MessageTypeRegistry().Register<ScoredV1>("risk.scored", 1).Register<ScoredV3>("risk.scored", 3);
        var ex = Assert.Throws<UnknownMessageTypeException>(() => registry.Deserialize("{}"u8, manifest));
        Assert.Equal(manifest, ex.TypeName);
        Assert.Contains(manifest, ex.Message);
        Assert.Contains(why, ex.Message);
    }

    [Fact]
    public void A_typed_payload_can_only_name_registered_types()
    {
        var registry = new MessageTypeRegistry().Register<Started>("investigation.started");
        var json = System.Text.Json.JsonDocument.Parse("""{"type":"System.Object.v1","data":{}}""");
        Assert.Throws<UnknownMessageTypeException>(() => registry.ReadTyped(json.RootElement));
    }

    [Fact]
    public void Serializing_an_unregistered_type_fails_naming_the_clr_type()
    {
        var ex = Assert.Throws<UnregisteredMessageTypeException>(() => new MessageTypeRegistry().Serialize(new NotRegistered("x"), out _));
        Assert.Contains(nameof(NotRegistered), ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("has space")]
    [InlineData("ends.v2")]
    [InlineData(".starts-with-dot")]
    public void Invalid_names_are_refused(string name) =>
        Assert.Throws<ArgumentException>(() => new MessageTypeRegistry().Register<Started>(name));

    [Fact]
    public void Clashing_registrations_are_refused_but_repeats_are_harmless()
    {
        var registry = new MessageTypeRegistry().Register<Started>("a.started").Register<Started>("a.started");
        Assert.Throws<InvalidOperationException>(() => registry.Register<ScoredV1>("a.started"));
        Assert.Throws<InvalidOperationException>(() => registry.Register<Started>("b.started"));
    }

    [Fact]
    public void Attributed_types_of_an_assembly_are_registered()
    {
        var registry = new MessageTypeRegistry().RegisterAssembly(typeof(MessageTypeRegistrySpec).Assembly);
        Assert.Equal(new MessageTypeName("marked.thing", 4), registry.NameOf(typeof(Marked)));
    }
}
