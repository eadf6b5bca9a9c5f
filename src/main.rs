fn main() {
    println!("nasgpu");
}
