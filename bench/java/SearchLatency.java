// In-process search latency of Lucene (through the Anserini jar) for bench/scale.py: opens an
// index built by Anserini's IndexCollection, parses each query with Lucene's classic query parser
// and the analyzer Anserini indexed with, and times `repeat` runs of each (after one warm-up).
//
// Input: a file of lines "OFFSET<TAB>QUERY". Output: one JSON line per query on stdout,
// {"query": ..., "count": ..., "micros": [...]}.
//
// Build and run (bench/scale.py does this):
//   javac -cp anserini-fatjar.jar -d OUT SearchLatency.java
//   java -cp anserini-fatjar.jar:OUT SearchLatency INDEX QUERIES REPEAT

import io.anserini.analysis.DefaultEnglishAnalyzer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;

public class SearchLatency {
  public static void main(String[] args) throws Exception {
    DirectoryReader reader = DirectoryReader.open(FSDirectory.open(Paths.get(args[0])));
    List<String> lines = Files.readAllLines(Paths.get(args[1]));
    int repeat = Integer.parseInt(args[2]);
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setSimilarity(new BM25Similarity(0.9f, 0.4f));
    QueryParser parser = new QueryParser("contents", DefaultEnglishAnalyzer.newDefaultInstance());
    StringBuilder out = new StringBuilder();
    for (String line : lines) {
      String[] parts = line.split("\t", 2);
      int offset = Integer.parseInt(parts[0]);
      Query q = parser.parse(parts[1]);
      TopDocs warm = searcher.search(q, offset + 10);
      out.setLength(0);
      out.append("{\"query\": \"").append(parts[1].replace("\\", "\\\\").replace("\"", "\\\""));
      out.append("\", \"count\": ").append(warm.totalHits.value).append(", \"micros\": [");
      for (int i = 0; i < repeat; i++) {
        long t = System.nanoTime();
        searcher.search(q, offset + 10);
        long us = (System.nanoTime() - t) / 1000;
        out.append(i == 0 ? "" : ", ").append(us);
      }
      out.append("]}");
      System.out.println(out);
    }
    reader.close();
  }
}
